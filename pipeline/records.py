"""Input records: ``{"question", "answer", "sources"}`` as JSON, validated with clear reasons.

``sources`` is a list; each item is a string (the source text) or an object with ``text`` and
optional ``id``, ``title`` and ``metadata``. Without an id, a source's id is its 1-based position.
ALCE's field names ``output`` and ``docs`` are accepted too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from citeline.core.checks import MAX_ANSWER_CHARS
from citeline.core.types import Answer, Document
from citeline.pipeline.check import CheckRequest
from citeline.pipeline.sources import (LONE_SURROGATE, SURROGATES_REPLACED, RecordError, as_documents, clean_text,
                                       empty_source_warnings)

__all__ = ["LONE_SURROGATE", "MAX_ANSWER_CHARS", "SURROGATES_REPLACED", "RecordError", "checked_answer",
           "documents_from_files",
           "documents_from_json", "parse_record_line", "request_from_record"]



def parse_record_line(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"not UTF-8 text (byte {error.start}): re-encode the file as UTF-8", "not_utf8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"invalid JSON: {error.msg} at character {error.pos}", "invalid_json") from None
    except ValueError as error:  # not a decoding error: an integer literal too long to convert, say
        raise RecordError(f"invalid JSON: {error}", "invalid_json") from None
    except RecursionError:  # the JSON parser recurses once per bracket
        raise RecordError("the JSON is nested too deeply to read", "invalid_json") from None
    if not isinstance(data, dict):
        raise RecordError(f"a record must be a JSON object, not {type(data).__name__}", "not_an_object")
    return data


def request_from_record(data: dict[str, Any], default_id: str = "",
                        max_answer_chars: int | None = MAX_ANSWER_CHARS) -> CheckRequest:
    """The check a record asks for; lone surrogates are replaced and empty sources noted in ``warnings``."""
    warnings: list[str] = []
    question = data.get("question") or ""  # null: no question, as a null id is no id
    answer = checked_answer(_field(data, "answer", "output"), question, max_answer_chars, warnings)
    documents = documents_from_json(_field(data, "sources", "docs"), warnings)
    record_id = data.get("id")
    record_id = default_id if record_id is None else clean_text(str(record_id), "the id", warnings)
    return CheckRequest(answer, documents, record_id, tuple(warnings + empty_source_warnings(documents)))


def checked_answer(answer: Any, question: Any, max_answer_chars: int | None, warnings: list[str]) -> Answer:
    """The answer and question, validated (a string, not empty, within the size limit) and cleaned."""
    if not isinstance(answer, str):
        raise RecordError(f"'answer' must be a string, not {type(answer).__name__}")
    if not answer.strip():
        raise RecordError("'answer' is empty: there is nothing to check", "empty_answer")
    if max_answer_chars is not None and len(answer) > max_answer_chars:
        raise RecordError(f"the answer has {len(answer):,} characters, over the limit of {max_answer_chars:,}: "
                          f"raise it with --max-answer-chars (or split the answer)", "too_large")
    if not isinstance(question, str):
        raise RecordError(f"'question' must be a string, not {type(question).__name__}")
    return Answer(clean_text(answer, "the answer", warnings), clean_text(question, "the question", warnings))


def documents_from_json(sources: Any, warnings: list[str] | None = None) -> tuple[Document, ...]:
    if not isinstance(sources, list):
        raise RecordError(f"'sources' must be a list of strings or objects, not {type(sources).__name__}")
    if not sources:
        raise RecordError("'sources' is empty: give the passages the answer was written from")
    return as_documents(sources, warnings)


def documents_from_files(files: Sequence[Path], sources_json: Path | None,
                         ids_from_names: bool = True) -> tuple[Document, ...]:
    """Sources given on a command line: text files in citation order, or one JSON list file.

    With ``ids_from_names`` a file's id is its name without suffix (so ``[paris]`` cites
    paris.txt) unless two names clash; otherwise it is its 1-based position.
    """
    if sources_json and files:
        raise RecordError("give sources either as --source files or as one --sources JSON file, not both")
    if sources_json:
        try:
            return documents_from_json(json.loads(sources_json.read_text(encoding="utf-8")))
        except RecursionError:  # the JSON parser recurses once per bracket
            raise RecordError(f"{sources_json}: the JSON is nested too deeply to read", "invalid_json") from None
    if not files:
        raise RecordError("no sources: pass --source FILE (repeatable) or --sources FILE.json")
    stems = [p.stem for p in files]
    unique = len(set(stems)) == len(stems)
    ids = stems if ids_from_names and unique else [str(i) for i in range(1, len(files) + 1)]
    return tuple(Document(id=i, title=p.stem, text=p.read_text(encoding="utf-8")) for i, p in zip(ids, files))


def _field(data: dict[str, Any], name: str, alias: str) -> Any:
    if name in data:
        return data[name]
    if alias in data:
        return data[alias]
    raise RecordError(f"missing field '{name}' (record has: {', '.join(sorted(data)) or 'no fields'})",
                      "missing_field")
