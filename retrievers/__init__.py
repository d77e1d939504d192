"""Retrieval over your own corpus: BM25, dense, ColBERT and hybrid search with exact spans.

Importing this is cheap: names load from their modules on first use (PEP 562), so the CLI's
``citeline index`` registration pulls in neither numpy nor any engine.
"""

import importlib

_EXPORTS = {
    "base": ["Retriever"],
    "bm25": ["BM25Params", "BM25sRetriever", "RankBM25Retriever", "Tokenizer"],
    "colbert": ["ColBERTRetriever"],
    "corpus": ["CorpusError", "CorpusTooLargeError", "SentenceWindowChunker", "collect_passages",
               "read_dataset", "read_documents", "read_folder", "read_jsonl"],
    "dense": ["DenseRetriever", "SentenceTransformerEncoder"],
    "fusion": ["HybridRetriever", "RerankedRetriever", "reciprocal_rank_fusion"],
    "index": ["IndexLoadError", "IndexMismatchError", "build_index", "load_index"],
    "langchain": ["as_langchain_retriever", "from_langchain"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
