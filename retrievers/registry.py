"""The retriever registry: what ``citeline index build --backend`` offers, and how a saved index
is rebuilt on load. A factory is called with the model name when its entry takes ``model`` (and
one is given), with no argument otherwise."""

from __future__ import annotations

from typing import Any

from citeline.core.registry import Registry

RETRIEVERS = Registry("retriever")
RETRIEVERS.add("bm25", "citeline.retrievers.bm25:RankBM25Retriever", "rank-bm25, the reference implementation")
RETRIEVERS.add("bm25s", "citeline.retrievers.bm25:BM25sRetriever", "the bm25s engine: the same ranking, much faster (default)")
RETRIEVERS.add("dense", "citeline.retrievers.dense:DenseRetriever",
               "sentence-transformers + faiss (--model: a name or path; default all-MiniLM-L6-v2)", options=("model",))
RETRIEVERS.add("colbert", "citeline.retrievers.colbert:ColBERTRetriever",
               "colbert-ai late interaction (--model: a ColBERT checkpoint; default built from MiniLM)",
               options=("model",))
RETRIEVERS.add("hybrid", "citeline.retrievers.fusion:bm25s_dense_hybrid",
               "bm25s + dense, reciprocal-rank fusion (--model: the dense model)", options=("model",))
DEFAULT_RETRIEVER = "bm25s"


def make_retriever(backend: str, model: str | None = None) -> Any:
    """A fresh, empty retriever for ``backend``."""
    entry = RETRIEVERS.get(backend)
    if model and not entry.takes("model"):
        raise ValueError(f"the {backend} retriever uses no model: drop --model (model={model!r})")
    return entry.load()(model) if model else entry.load()()
