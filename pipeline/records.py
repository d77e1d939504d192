"""Input records: ``{"question", "answer", "sources"}`` as JSON, validated with clear reasons.

``sources`` is a list; each item is a string (the source text) or an object with ``text`` and
optional ``id``, ``title`` and ``metadata``. Without an id, a source's id is its 1-based position.
ALCE's field names ``output`` and ``docs`` are accepted too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from citeline.core.types import Answer, Document
from citeline.pipeline.check import CheckRequest


class RecordError(ValueError):
    """A record that cannot be checked; the message says what is wrong and how to fix it."""


def parse_record_line(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"not UTF-8 text (byte {error.start}): re-encode the file as UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"invalid JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(data, dict):
        raise RecordError(f"a record must be a JSON object, not {type(data).__name__}")
    return data


def request_from_record(data: dict[str, Any], default_id: str = "") -> CheckRequest:
    answer = _field(data, "answer", "output")
    if not isinstance(answer, str):
        raise RecordError(f"'answer' must be a string, not {type(answer).__name__}")
    if not answer.strip():
        raise RecordError("'answer' is empty: there is nothing to check")
    question = data.get("question", "")
    if not isinstance(question, str):
        raise RecordError(f"'question' must be a string, not {type(question).__name__}")
    documents = documents_from_json(_field(data, "sources", "docs"))
    record_id = str(data.get("id", default_id))
    return CheckRequest(Answer(answer, question), documents, record_id)


def documents_from_json(sources: Any) -> tuple[Document, ...]:
    if not isinstance(sources, list):
        raise RecordError(f"'sources' must be a list of strings or objects, not {type(sources).__name__}")
    if not sources:
        raise RecordError("'sources' is empty: give the passages the answer was written from")
    documents = tuple(_document(item, position) for position, item in enumerate(sources, 1))
    ids = [d.id for d in documents]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RecordError(f"source ids must be unique; repeated: {duplicates}")
    return documents


def documents_from_files(files: Sequence[Path], sources_json: Path | None,
                         ids_from_names: bool = True) -> tuple[Document, ...]:
    """Sources given on a command line: text files in citation order, or one JSON list file.

    With ``ids_from_names`` a file's id is its name without suffix (so ``[paris]`` cites
    paris.txt) unless two names clash; otherwise it is its 1-based position.
    """
    if sources_json and files:
        raise RecordError("give sources either as --source files or as one --sources JSON file, not both")
    if sources_json:
        return documents_from_json(json.loads(sources_json.read_text(encoding="utf-8")))
    if not files:
        raise RecordError("no sources: pass --source FILE (repeatable) or --sources FILE.json")
    stems = [p.stem for p in files]
    unique = len(set(stems)) == len(stems)
    ids = stems if ids_from_names and unique else [str(i) for i in range(1, len(files) + 1)]
    return tuple(Document(id=i, title=p.stem, text=p.read_text(encoding="utf-8")) for i, p in zip(ids, files))


def _document(item: Any, position: int) -> Document:
    if isinstance(item, str):
        return Document(id=str(position), text=item)
    if not isinstance(item, dict):
        raise RecordError(f"source {position} must be a string or an object, not {type(item).__name__}")
    text = item.get("text")
    if not isinstance(text, str):
        raise RecordError(f"source {position} has no 'text' string")
    title = item.get("title") or ""
    if not isinstance(title, str):
        raise RecordError(f"source {position}: 'title' must be a string")
    metadata = item.get("metadata") or {}
    return Document(id=str(item.get("id", position)), text=text, title=title, metadata=metadata)


def _field(data: dict[str, Any], name: str, alias: str) -> Any:
    if name in data:
        return data[name]
    if alias in data:
        return data[alias]
    raise RecordError(f"missing field '{name}' (record has: {', '.join(sorted(data)) or 'no fields'})")
