"""Argument checks shared by every stage: a bad argument fails at the call, with the fix named."""

from __future__ import annotations

from typing import Any


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
