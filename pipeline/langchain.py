"""LangChain: the citation check as a ``Runnable`` (``pip install citeline[langchain]``).

    check = CitationCheck(verifier="lexical")
    report = check.invoke({"question": q, "answer": a, "documents": docs})   # -> citeline Report

The input is a dict with ``answer`` (a string or a chat message) and ``documents`` (LangChain
``Document``s, strings or ``{"text"}`` objects, in citation order; ``context``, the name LangChain's
RAG examples use, works too), and an optional ``question``. ``batch`` checks many answers with one
shared verifier pass. ``with_citation_report(chain)`` runs a chain whose output is such a dict and
adds the report under ``report`` (LCEL: ``chain | RunnablePassthrough.assign(report=check)``).
(Retrievers work both ways already: ``citeline.retrievers.langchain``.)
"""

from __future__ import annotations

from typing import Any

try:
    from langchain_core.runnables import Runnable, RunnableConfig, RunnablePassthrough
except ImportError:  # pragma: no cover - the extra is missing
    raise ImportError("LangChain interop needs langchain-core: pip install 'citeline[langchain]'") from None

from citeline.core.types import Answer, Document, Report
from citeline.pipeline.check import CheckRequest, CitationChecker
from citeline.pipeline.sources import as_documents, empty_source_warnings

__all__ = ["CitationCheck", "with_citation_report"]


class CitationCheck(Runnable[dict, Report]):
    """A ``Runnable`` from ``{question?, answer, documents}`` to citeline's ``Report``.

    ``verifier`` and ``splitter`` are names as on the command line, or stage objects; models load
    once, on the first check."""

    def __init__(self, verifier: Any = "default", splitter: Any = "spacy", check_every_source: bool = True) -> None:
        self.verifier = verifier
        self.splitter = splitter
        self.check_every_source = check_every_source
        self._checker: CitationChecker | None = None

    @property
    def checker(self) -> CitationChecker:
        if self._checker is None:
            from citeline.core.claims import ClaimSplitter
            from citeline.core.sentences import make_splitter
            from citeline.verifiers.default import load_verifier

            verifier = load_verifier(self.verifier) if isinstance(self.verifier, str) else self.verifier
            splitter = make_splitter(self.splitter) if isinstance(self.splitter, str) else self.splitter
            self._checker = CitationChecker(verifier, ClaimSplitter(splitter),
                                            check_every_source=self.check_every_source)
        return self._checker

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Report:
        return self.batch([input], config)[0]

    def batch(self, inputs: list[dict], config: RunnableConfig | list[RunnableConfig] | None = None, *,
              return_exceptions: bool = False, **kwargs: Any) -> list[Report]:
        requests = [check_request(item, str(n)) for n, item in enumerate(inputs)]
        return self.checker.check_many(requests)


def check_request(item: Any, default_id: str = "") -> CheckRequest:
    """The check a LangChain input asks for: ``{question?, answer, documents | context}``."""
    if not isinstance(item, dict):
        raise TypeError(f"CitationCheck takes a dict {{question?, answer, documents}}, not {type(item).__name__}")
    answer = item.get("answer")
    answer = getattr(answer, "content", answer)  # an AIMessage from a chat model
    if not isinstance(answer, str):
        raise TypeError(f"'answer' must be a string or a chat message, not {type(answer).__name__}")
    sources = item["documents"] if "documents" in item else item.get("context")
    if sources is None:
        raise KeyError("CitationCheck needs 'documents' (or 'context'): the documents the answer cites")
    documents = as_documents([_source(d, n) for n, d in enumerate(sources, 1)])
    question = item.get("question") or ""
    return CheckRequest(Answer(answer, question if isinstance(question, str) else str(question)), documents,
                        str(item.get("id", default_id)), tuple(empty_source_warnings(documents)))


def _source(item: Any, position: int) -> Any:
    """A LangChain ``Document`` as a citeline one (its id: ``metadata["id"]``, its ``id``, or its position)."""
    if not hasattr(item, "page_content"):
        return item
    metadata = dict(item.metadata or {})
    identifier = metadata.get("doc_id") or metadata.get("id") or getattr(item, "id", None) or str(position)
    return Document(id=str(identifier), text=item.page_content, title=str(metadata.get("title") or ""),
                    metadata=metadata)


def with_citation_report(chain: Runnable, check: CitationCheck | None = None, key: str = "report") -> Runnable:
    """``chain`` (whose output is ``{answer, documents | context, ...}``) with the report added under ``key``."""
    return chain | RunnablePassthrough.assign(**{key: check or CitationCheck()})
