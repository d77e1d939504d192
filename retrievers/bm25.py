"""Lexical retrieval: BM25 over passages, with two interchangeable engines.

``RankBM25Retriever`` (the ``rank-bm25`` package: simple, pure Python) and ``BM25sRetriever``
(``bm25s``: sparse matrices, about a hundred times faster) share one tokeniser and one scoring
function -- Okapi term frequency with Lucene's non-negative idf -- so on the same corpus they
return the same ranking with the same scores (up to bm25s's float32).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from citeline.core.checks import check_k, check_query
from citeline.core.types import Hit, Passage
from citeline.retrievers.corpus import CorpusError, check_passages

# A short English stop list: words that carry no topic and would only add noise to BM25.
ENGLISH_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Tokenizer:
    """Lower-cased word tokens without stop words; the same for passages and queries."""

    lowercase: bool = True
    stopwords: frozenset[str] = field(default=ENGLISH_STOPWORDS, repr=False)

    def __call__(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower() if self.lowercase else text)
        return [w for w in words if w not in self.stopwords]

    def config(self) -> dict[str, Any]:
        return {"pattern": _WORD.pattern, "lowercase": self.lowercase,
                "stopwords": "english" if self.stopwords == ENGLISH_STOPWORDS else sorted(self.stopwords)}


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75


def top_k(scores: np.ndarray, k: int, ids: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The best ``k`` positive scores as (passage index, score); ties (to 4 decimals) in corpus order.

    ``scores`` covers every passage, or only the passages ``ids`` when given (a sparse row).
    """
    ids = np.arange(scores.size) if ids is None else ids
    keep = scores > 0
    ids, scores = ids[keep], scores[keep]
    if ids.size > k:  # cut to a candidate set first: argpartition is O(n)
        threshold = -np.partition(-scores, k - 1)[k - 1]
        keep = scores >= threshold - 1e-4
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -np.round(scores.astype(np.float64), 4)))[:k]
    return list(zip(ids[order].tolist(), scores[order].tolist()))


class _BM25Retriever:
    """What both engines share: validation, tokenisation, hits. Subclasses score."""

    name = "bm25"

    def __init__(self, tokenizer: Tokenizer | None = None, params: BM25Params | None = None) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.params = params or BM25Params()
        self.passages: list[Passage] = []

    def config(self) -> dict[str, Any]:
        return {"kind": self.name, "tokenizer": self.tokenizer.config(), "params": asdict(self.params)}

    def index(self, passages: Sequence[Passage], progress: bool = False) -> _BM25Retriever:
        self.passages = check_passages(passages)
        tokens = [self.tokenizer(p.text) for p in self.passages]
        if not any(tokens):
            raise CorpusError("no passage has a word BM25 can index (only stop words or punctuation): "
                              "check the corpus text, or use the dense backend")
        self._build(tokens, progress)
        return self

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        if not self.passages:
            raise RuntimeError(f"{type(self).__name__} has no passages: call .index(passages) first "
                               f"or load a built index with load_index(DIR)")
        tokens = [self.tokenizer(check_query(q)) for q in queries]
        return [[Hit(passage=self.passages[i], score=s, retriever=self.name, rank=r) for r, (i, s) in enumerate(best)]
                for best in self._top_batch(tokens, k)]

    def _top_batch(self, queries_tokens: list[list[str]], k: int) -> list[list[tuple[int, float]]]:
        return [top_k(self._scores(tokens), k) if tokens else [] for tokens in queries_tokens]

    def _build(self, corpus_tokens: list[list[str]], progress: bool) -> None:
        raise NotImplementedError

    def _scores(self, query_tokens: list[str]) -> np.ndarray:
        raise NotImplementedError

    # Persistence: the folder holds the engine's own files next to the index's passages.
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config(), indent=2))

    def load(self, folder: Path, passages: list[Passage]) -> _BM25Retriever:
        return self.index(passages)  # rank-bm25 has no file format: rebuilding is quick


class RankBM25Retriever(_BM25Retriever):
    """BM25 with the ``rank-bm25`` package: scores every passage per query (slow on big corpora)."""

    name = "bm25"

    def _build(self, corpus_tokens: list[list[str]], progress: bool) -> None:
        self._engine = _lucene_okapi()(corpus_tokens, k1=self.params.k1, b=self.params.b)

    def _scores(self, query_tokens: list[str]) -> np.ndarray:
        return self._engine.get_scores(query_tokens)


def _lucene_okapi():
    from rank_bm25 import BM25Okapi

    class LuceneOkapi(BM25Okapi):
        """rank-bm25's Okapi with Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5)): never negative,
        so no epsilon floor is needed, and bm25s computes exactly the same."""

        def _calc_idf(self, nd: dict[str, int]) -> None:
            n = self.corpus_size
            self.idf = {word: math.log(1 + (n - df + 0.5) / (df + 0.5)) for word, df in nd.items()}

    return LuceneOkapi


class BM25sRetriever(_BM25Retriever):
    """BM25 with ``bm25s``: precomputed sparse scores, so a query costs only its terms' postings."""

    name = "bm25s"

    def _build(self, corpus_tokens: list[list[str]], progress: bool) -> None:
        import bm25s

        # "atire" is Okapi's (k1 + 1) term-frequency part, as rank-bm25 computes it.
        self._terms = None
        self._engine = bm25s.BM25(k1=self.params.k1, b=self.params.b, method="atire", idf_method="lucene")
        self._engine.index(corpus_tokens, show_progress=progress)

    def _scores(self, query_tokens: list[str]) -> np.ndarray:
        return self._engine.get_scores_from_ids(self._engine.get_tokens_ids(query_tokens))

    def _top_batch(self, queries_tokens: list[list[str]], k: int) -> list[list[tuple[int, float]]]:
        """All queries at once: (queries x vocabulary) @ (vocabulary x passages), both sparse, so
        the work is proportional to the postings of the query terms, not to the corpus."""
        from scipy import sparse

        vocabulary = self._engine.vocab_dict
        rows, cols = [], []
        for row, tokens in enumerate(queries_tokens):
            ids = [vocabulary[t] for t in tokens if t in vocabulary]
            rows += [row] * len(ids)
            cols += ids
        counts = np.ones(len(rows), dtype=np.float32)  # repeated terms add up, as in rank-bm25
        queries = sparse.csr_matrix((counts, (rows, cols)), shape=(len(queries_tokens), self._term_matrix().shape[0]))
        scores = (queries @ self._term_matrix()).tocsr()
        return [top_k(scores.data[scores.indptr[r]:scores.indptr[r + 1]], k,
                      scores.indices[scores.indptr[r]:scores.indptr[r + 1]]) for r in range(len(queries_tokens))]

    def _term_matrix(self):
        """bm25s's precomputed scores as a (vocabulary x passages) CSR matrix, built once."""
        if getattr(self, "_terms", None) is None:
            from scipy import sparse

            s = self._engine.scores
            by_passage = sparse.csc_matrix((s["data"], s["indices"], s["indptr"]),
                                           shape=(s["num_docs"], len(s["indptr"]) - 1))
            self._terms = by_passage.T.tocsr()
        return self._terms

    def save(self, folder: Path) -> None:
        super().save(folder)
        self._engine.save(str(folder / "bm25s"))

    def load(self, folder: Path, passages: list[Passage]) -> BM25sRetriever:
        import bm25s

        self.passages = check_passages(passages)
        self._terms = None
        self._engine = bm25s.BM25.load(str(folder / "bm25s"))
        return self
