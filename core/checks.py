"""Argument checks shared by every stage: a bad argument fails at the call, with the fix named."""

from __future__ import annotations

from typing import Any

# Work per answer is bounded: a longer one is refused with a reason naming --max-answer-chars.
MAX_ANSWER_CHARS = 200_000


def check_query(query: Any) -> str:
    if not isinstance(query, str):
        raise TypeError(f"a query must be a string, not {type(query).__name__}")
    if not query.strip():
        raise ValueError("the query is empty: pass the question or claim to search for")
    return query


def check_k(k: int) -> int:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    return k


def from_fields(cls: Any, data: dict[str, Any], what: str = "config") -> Any:
    """A dataclass built from a JSON object: an unknown key fails, naming the known ones."""
    import dataclasses

    known = sorted(f.name for f in dataclasses.fields(cls))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; known: {known}")
    return cls(**data)
