"""Retrieval over your own corpus: BM25, dense, ColBERT and hybrid search with exact spans.

Importing this is cheap: engines (bm25s, faiss, sentence-transformers, colbert-ai) load on first use.
"""

from citeline.retrievers.base import Retriever
from citeline.retrievers.bm25 import BM25Params, BM25sRetriever, RankBM25Retriever, Tokenizer
from citeline.retrievers.colbert import ColBERTRetriever
from citeline.retrievers.corpus import (
    CorpusError,
    CorpusTooLargeError,
    SentenceWindowChunker,
    collect_passages,
    read_dataset,
    read_documents,
    read_folder,
    read_jsonl,
)
from citeline.retrievers.dense import DenseRetriever, SentenceTransformerEncoder
from citeline.retrievers.fusion import HybridRetriever, RerankedRetriever, reciprocal_rank_fusion
from citeline.retrievers.index import IndexLoadError, IndexMismatchError, build_index, load_index
from citeline.retrievers.langchain import as_langchain_retriever, from_langchain

__all__ = [
    "BM25Params", "BM25sRetriever", "ColBERTRetriever", "CorpusError", "CorpusTooLargeError",
    "DenseRetriever", "HybridRetriever", "IndexLoadError", "IndexMismatchError", "RankBM25Retriever",
    "RerankedRetriever", "Retriever", "SentenceTransformerEncoder", "SentenceWindowChunker", "Tokenizer",
    "as_langchain_retriever", "build_index", "collect_passages", "from_langchain", "load_index",
    "read_dataset", "read_documents", "read_folder", "read_jsonl", "reciprocal_rank_fusion",
]
