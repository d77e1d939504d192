"""Tiny random BERT classifiers built in a test's temp folder: real checkpoints, no download."""

from __future__ import annotations

from pathlib import Path

WORDS = ("the a paris is capital of france berlin germany city river seine population million "
         "in was founded by year and not claim evidence tower built 1889 1899 it located").split()


def tiny_bert(folder: Path, labels: tuple[str, ...], hidden: int = 16, layers: int = 1) -> Path:
    """A sequence classifier with ``labels`` as its classes, and its tokenizer, saved in ``folder``."""
    import torch
    import transformers

    # transformers 5 reads a fast tokenizer's vocabulary from `vocab`, not from a vocab.txt file
    vocab = {word: i for i, word in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=128, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    transformers.BertTokenizerFast(vocab=vocab).save_pretrained(folder)
    return folder
