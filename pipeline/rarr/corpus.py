"""The search index RARR researches in, built the same way by ``citeline revise`` and the RARR
evaluation, so the evaluation measures the set-up the command uses."""

from __future__ import annotations

from typing import Iterable

from citeline.core.protocols import Retriever
from citeline.core.sentences import SentenceSplitter
from citeline.core.types import Document

WINDOW_SENTENCES = 5  # passages of 5 sentences (RARR reads 5-sentence windows of each hit) ...
WINDOW_STRIDE = 4  # ... overlapping by one, so a fact on a window's edge is whole in one of them


def research_index(documents: Iterable[Document], sentences: SentenceSplitter) -> Retriever:
    """BM25 (bm25s) over sentence-window passages of ``documents``."""
    try:
        from citeline.retrievers.bm25 import BM25sRetriever
        from citeline.retrievers.corpus import SentenceWindowChunker, collect_passages
    except ImportError:
        raise ImportError("BM25 retrieval is not available in this install (pip install 'citeline[retrieval]')") \
            from None
    chunker = SentenceWindowChunker(size=WINDOW_SENTENCES, stride=WINDOW_STRIDE, splitter=sentences)
    return BM25sRetriever().index(collect_passages(documents, chunker))
