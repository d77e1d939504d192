"""The stage protocols: what a verifier, a retriever and a generation backend must offer.

Workflows program against these, never against a concrete stage, so any object with the right
methods can stand in (a scripted LLM in tests, a LangChain retriever, your own verifier).
Loading models is not part of a protocol: a stage takes configuration in ``__init__`` and loads
on first use, or when ``warm_up()`` is called (see ``warm_up`` below).
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from citeline.core.generation import LLM
from citeline.core.types import Hit, Verdict

Pair = tuple[str, str]  # (evidence text, claim text)


@runtime_checkable
class Verifier(Protocol):
    """Judges a batch of (evidence, claim) pairs; one verdict per pair, in order."""

    name: str

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]: ...


@runtime_checkable
class Retriever(Protocol):
    name: str

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """Best ``k`` hits, highest score first."""
        ...

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]: ...


def warm_up(stage: Any) -> Any:
    """Load ``stage``'s models now rather than on first use (a no-op for a stage with nothing to
    load); returns the stage. Commands call it before a run, so a missing model stops the run
    once, up front, instead of failing every record."""
    method = getattr(stage, "warm_up", None)
    if callable(method):
        method()
    return stage


def clear_cache(stage: Any) -> None:
    """Forget what ``stage`` cached from earlier calls (a no-op for a stage without a cache). A
    model's score of a text depends, in its last bits, on the batch the text was encoded in
    (padding), so a batch job clears caches before each batch: then a record's scores depend only
    on its own batch, whatever ran before it, in this process or on another worker."""
    method = getattr(stage, "clear_cache", None)
    if callable(method):
        method()


__all__ = ["LLM", "Pair", "Retriever", "Verifier", "clear_cache", "warm_up"]
