"""The attribution report: the few evidence snippets that together best cover the questions.

RARR picks at most ``k`` snippets S maximising  sum over questions q of max over e in S of
score(q, e): every question should be answered by at least one chosen snippet.
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

from citeline.pipeline.rarr.research import EvidenceRanker
from citeline.pipeline.rarr.results import EvidenceSnippet

EXHAUSTIVE_LIMIT = 20_000  # subsets to try exhaustively; past this, greedy (a (1 - 1/e) approximation)


def coverage(scores: Sequence[Sequence[float]], chosen: Sequence[int]) -> float:
    """sum_q max_{e in chosen} scores[q][e]; 0 for no questions or no snippets chosen."""
    if not chosen:
        return 0.0
    return sum(max(row[e] for e in chosen) for row in scores)


def best_cover(scores: Sequence[Sequence[float]], max_selected: int) -> list[int]:
    """Indices of at most ``max_selected`` snippets maximising ``coverage``; fewer when more add nothing.

    ``scores[q][e]`` scores question q against snippet e. Ties go to the smaller, earlier subset.
    """
    count = len(scores[0]) if scores else 0
    size = min(max_selected, count)
    if size == 0:
        return []
    if sum(math.comb(count, k) for k in range(1, size + 1)) > EXHAUSTIVE_LIMIT:
        return _greedy(scores, size)
    best: tuple[int, ...] = ()
    best_value = -math.inf
    for k in range(1, size + 1):
        for subset in itertools.combinations(range(count), k):
            value = coverage(scores, subset)
            if value > best_value + 1e-12:
                best, best_value = subset, value
    return list(best)


def _greedy(scores: Sequence[Sequence[float]], size: int) -> list[int]:
    chosen: list[int] = []
    for _ in range(size):
        current = coverage(scores, chosen) if chosen else -math.inf
        gains = [(coverage(scores, chosen + [e]), -e) for e in range(len(scores[0])) if e not in chosen]
        value, negative_index = max(gains)
        if value <= current + 1e-12:
            break
        chosen.append(-negative_index)
    return chosen


class ReportBuilder:
    """``build(questions, snippets)``: the attribution report, in the snippets' original order."""

    def __init__(self, ranker: EvidenceRanker, max_selected: int = 5) -> None:
        self.ranker = ranker
        self.max_selected = max_selected

    def build(self, questions: Sequence[str], snippets: Sequence[EvidenceSnippet]) -> list[EvidenceSnippet]:
        first: dict[tuple[str, int, int], EvidenceSnippet] = {}
        for snippet in snippets:
            first.setdefault((snippet.passage.doc_id, snippet.passage.start, snippet.passage.end), snippet)
        unique = list(first.values())
        queries = list(dict.fromkeys(questions))
        if not unique or not queries:
            return []
        texts = [s.passage.text for s in unique]
        scores = [self.ranker.rank(query, texts) for query in queries]
        return [unique[i] for i in sorted(best_cover(scores, self.max_selected))]
