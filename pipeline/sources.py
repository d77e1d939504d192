"""Sources as users give them: strings, ``{"id"?, "title"?, "text"}`` objects or ``Document``s.

A source without an id (or with ``"id": null``) gets its 1-based position as its id. Citations
by number are always positions (``[1]`` is the first source, whatever the ids), so an id only
matters when an answer cites it by name (``[doc7]``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from citeline.core.types import Document

# Any surrogate code point left in a decoded str is a lone one (a valid pair decodes to one
# character); it cannot be written as UTF-8, so it is replaced by U+FFFD and reported.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATES_REPLACED = "lone surrogates (invalid Unicode) in {where} replaced by U+FFFD"


class RecordError(ValueError):
    """A record that cannot be checked; the message says what is wrong and how to fix it.

    ``kind`` is a short machine-readable name of the problem, saved beside the message."""

    def __init__(self, message: str, kind: str = "invalid_record") -> None:
        super().__init__(message)
        self.kind = kind


def clean_text(text: str, where: str, warnings: list[str]) -> str:
    """``text`` with lone surrogates replaced; a warning naming ``where`` when there were any."""
    if not LONE_SURROGATE.search(text):
        return text
    warnings.append(SURROGATES_REPLACED.format(where=where))
    return LONE_SURROGATE.sub("\ufffd", text)


def as_documents(sources: Any, warnings: list[str] | None = None) -> tuple[Document, ...]:
    """Documents from a list of strings, source objects or ``Document``s (or one of them alone)."""
    if isinstance(sources, (str, dict, Document)):
        sources = [sources]
    if not isinstance(sources, Iterable):
        raise RecordError(f"'sources' must be a list of strings or objects, not {type(sources).__name__}")
    warnings = [] if warnings is None else warnings
    documents = tuple(_document(item, position, warnings) for position, item in enumerate(sources, 1))
    duplicates = sorted(i for i, n in Counter(d.id for d in documents).items() if n > 1)
    if duplicates:
        raise RecordError(f"source ids must be unique; repeated: {duplicates}")
    return documents


def empty_source_warnings(documents: Iterable[Document]) -> list[str]:
    """A warning per source with no text: nothing can be supported by it, which is rarely meant."""
    return [f"source {position} is empty: no claim can be supported by it"
            for position, document in enumerate(documents, 1) if not document.text.strip()]


def _document(item: Any, position: int, warnings: list[str]) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document(id=str(position), text=clean_text(item, f"source {position}", warnings))
    if not isinstance(item, dict):
        raise RecordError(f"source {position} must be a string or an object, not {type(item).__name__}")
    text = item.get("text")
    if not isinstance(text, str):
        raise RecordError(f"source {position} has no 'text' string")
    title = item.get("title") or ""
    if not isinstance(title, str):
        raise RecordError(f"source {position}: 'title' must be a string")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RecordError(f"source {position}: 'metadata' must be an object")
    return Document(id=_source_id(item.get("id"), position, warnings), metadata=metadata,
                    text=clean_text(text, f"source {position}", warnings),
                    title=clean_text(title, f"source {position}'s title", warnings))


def _source_id(given: Any, position: int, warnings: list[str]) -> str:
    """The source's id: its position when it has none (``null`` included), else the id as text."""
    if given is None:
        return str(position)
    if isinstance(given, bool) or not isinstance(given, (str, int, float)):
        raise RecordError(f"source {position}: 'id' must be a string or a number, not {type(given).__name__}")
    source_id = clean_text(str(given), f"source {position}'s id", warnings)
    if not source_id.strip():
        raise RecordError(f"source {position}: 'id' is empty: give a non-empty id or leave it out")
    return source_id
