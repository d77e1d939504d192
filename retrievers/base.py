"""The retriever protocol: find passages (exact spans of documents) for a query."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from citeline.pipeline.types import Hit


@runtime_checkable
class Retriever(Protocol):
    name: str

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """Best ``k`` hits, highest score first."""
        ...

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]: ...
