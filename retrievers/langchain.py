"""LangChain interop, both ways (optional extra: ``pip install citeline[langchain]``).

- ``from_langchain(lc_retriever)``: any LangChain ``BaseRetriever`` as a citeline retriever.
- ``as_langchain_retriever(retriever)``: any citeline retriever as a LangChain ``BaseRetriever``;
  each LangChain document carries the passage's ``doc_id``, ``start``, ``end`` and ``score`` in its
  metadata, so the exact span survives the round trip.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

from citeline.core.checks import check_k, check_query
from citeline.core.types import Hit, Passage


def _require_langchain():
    try:
        import langchain_core  # noqa: F401
    except ImportError:
        raise ImportError("LangChain interop needs langchain-core: pip install 'citeline[langchain]'") from None


class LangChainRetriever:
    """Wraps a LangChain retriever. LangChain returns whole documents, so a hit's span is the
    whole document text, unless its metadata has ``start`` (an offset into the original)."""

    def __init__(self, retriever: Any, name: str = "langchain") -> None:
        self.retriever = retriever
        self.name = name

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        results = self.retriever.batch([check_query(q) for q in queries])
        return [[self._hit(doc, rank) for rank, doc in enumerate(docs[:k])] for docs in results]

    def _hit(self, doc: Any, rank: int) -> Hit:
        text = doc.page_content
        metadata = dict(doc.metadata or {})
        doc_id = (metadata.get("doc_id") or metadata.get("id") or getattr(doc, "id", None)
                  or metadata.get("source") or "lc:" + hashlib.sha1(text.encode()).hexdigest()[:12])
        start = int(metadata.get("start", 0))
        passage = Passage(doc_id=str(doc_id), start=start, end=start + len(text), text=text, metadata=metadata)
        score = float(metadata.get("score", 1.0 / (rank + 1)))  # LangChain has no score: use 1/rank
        return Hit(passage=passage, score=score, retriever=self.name, rank=rank)


def from_langchain(retriever: Any, name: str = "langchain") -> LangChainRetriever:
    return LangChainRetriever(retriever, name)


def as_langchain_retriever(retriever: Any, k: int = 4):
    """A LangChain ``BaseRetriever`` that searches ``retriever`` for its top ``k`` passages."""
    _require_langchain()
    return _citeline_lc_class()(retriever=retriever, k=k)


def _citeline_lc_class():
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict

    class CitelineRetriever(BaseRetriever):
        """A citeline retriever seen from LangChain."""

        model_config = ConfigDict(arbitrary_types_allowed=True)
        retriever: Any
        k: int = 4

        def _get_relevant_documents(self, query: str, *, run_manager: Any = None) -> list[LCDocument]:
            return [_to_lc(LCDocument, hit) for hit in self.retriever.search(query, self.k)]

    return CitelineRetriever


def _to_lc(document_class: Any, hit: Hit):
    p = hit.passage
    metadata = {**p.metadata, "doc_id": p.doc_id, "start": p.start, "end": p.end, "score": hit.score,
                "retriever": hit.retriever}
    return document_class(page_content=p.text, metadata=metadata)
