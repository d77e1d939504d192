"""Hybrid search: reciprocal-rank fusion of any retrievers, and reranking by any verifier.

Both wrap retrievers and are retrievers themselves, so they compose:
``RerankedRetriever(HybridRetriever([bm25, dense]), verifier)``.
"""

from __future__ import annotations

from typing import Any, Sequence

from citeline.core.checks import check_k, check_query
from citeline.core.types import Hit, Passage
from citeline.retrievers.base import Retriever
from citeline.retrievers.corpus import passage_key


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[Passage, float]]:
    """Cormack et al. (2009): score(p) = sum over rankings of weight / (k + rank), rank from 1.

    RRF needs no score calibration between retrievers, which is why it fuses BM25 and dense well.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[tuple[str, int, int], float] = {}
    passages: dict[tuple[str, int, int], Passage] = {}
    for weight, ranking in zip(weights, rankings):
        for position, hit in enumerate(ranking, 1):
            key = passage_key(hit.passage)
            passages.setdefault(key, hit.passage)
            scores[key] = scores.get(key, 0.0) + weight / (k + position)
    # Python's sort is stable: equal scores keep first-seen order (the first retriever's ranking).
    return [(passages[key], score) for key, score in sorted(scores.items(), key=lambda kv: -kv[1])]


class HybridRetriever:
    """Reciprocal-rank fusion of the top ``depth`` hits of each retriever."""

    def __init__(self, retrievers: Sequence[Retriever], rrf_k: int = 60, depth: int = 50,
                 weights: Sequence[float] | None = None) -> None:
        if not retrievers:
            raise ValueError("HybridRetriever needs at least one retriever to fuse")
        if weights is not None and len(weights) != len(retrievers):
            raise ValueError(f"{len(weights)} weights for {len(retrievers)} retrievers: give one per retriever")
        self.retrievers = list(retrievers)
        self.rrf_k = rrf_k
        self.depth = depth
        self.weights = list(weights) if weights else None
        self.name = f"hybrid({','.join(r.name for r in self.retrievers)})"

    def config(self) -> dict[str, Any]:
        return {"kind": "hybrid", "rrf_k": self.rrf_k, "depth": self.depth, "weights": self.weights}

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        queries = [check_query(q) for q in queries]
        depth = max(self.depth, k)
        per_retriever = [r.search_batch(queries, depth) for r in self.retrievers]
        fused = []
        for rankings in zip(*per_retriever):
            best = reciprocal_rank_fusion(rankings, self.rrf_k, self.weights)[:k]
            fused.append([Hit(passage=p, score=s, retriever=self.name, rank=r) for r, (p, s) in enumerate(best)])
        return fused


def bm25s_dense_hybrid(model: str | None = None) -> HybridRetriever:
    """``--backend hybrid``: bm25s and a dense retriever (``model``), fused."""
    from citeline.retrievers.registry import make_retriever

    return HybridRetriever([make_retriever("bm25s"), make_retriever("dense", model)])


class RerankedRetriever:
    """Re-orders a retriever's top ``depth`` hits by a verifier's P(passage supports the query).

    Any object with the ``Verifier`` protocol works: a cross-encoder, an NLI model, an LLM judge.
    The verifier sees ``(passage text, query)`` pairs, i.e. the query plays the claim.
    """

    def __init__(self, retriever: Retriever, verifier: Any, depth: int = 20) -> None:
        self.retriever = retriever
        self.verifier = verifier
        self.depth = depth
        self.name = f"rerank({retriever.name},{getattr(verifier, 'name', type(verifier).__name__)})"

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        candidates = self.retriever.search_batch(queries, max(self.depth, k))
        pairs = [(hit.passage.text, query) for query, hits in zip(queries, candidates) for hit in hits]
        verdicts = iter(self.verifier.verify(pairs) if pairs else [])
        results = []
        for hits in candidates:
            scored = [(next(verdicts).ranking_score, hit) for hit in hits]
            scored.sort(key=lambda pair: -pair[0])  # stable: ties keep the first-stage order
            results.append([Hit(passage=hit.passage, score=p, retriever=self.name, rank=r)
                            for r, (p, hit) in enumerate(scored[:k])])
        return results
