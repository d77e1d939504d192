"""The answer formats prompt files declare (``# answer: NAME``), each with its strict parser.

A prompt's reply is read only by the parser its file names, so the format a prompt asks for and
the code that reads it live side by side here, not copied into the stage that sends it. A parser
returns ``None`` (or an empty list, or the label "unparsed") for a reply it cannot read: the
caller counts that as a failure, it never becomes a default answer.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Sequence

_PUNCTUATION = re.compile(r"^[\s\"'*`]+|[\s\"'*`.!]+$")
_LEAD = re.compile(r"^\s*(?:answer\s*:)\s*", re.I)
_QUERY_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*(?P<prefix>I googled\s*:)?\s*(?P<query>.*?)\s*$", re.I)
_QUERY_LEAK = re.compile(r"\b(you said|i checked|i found this article)\s*:", re.I)
_FIX_LEAK = re.compile(r"\b(you said|i checked|i found this article|this suggests)\s*:?", re.I)
_DECISION = re.compile(r"\b(disagrees?|agrees?|irrelevant)\b", re.I)
_THEREFORE = re.compile(r"^\W*therefore\s*:?\s*(?P<rest>.*)$", re.I)
_REASONING = re.compile(r"^\W*reasoning\s*:\s*(?P<rest>.*)$", re.I)
_FIX = re.compile(r"^\W*my fix\s*:\s*(?P<fix>.*)$", re.I)


def parse_label(reply: str, choices: Sequence[str]) -> str | None:
    """The choice (lower-cased) a reply states, or None: the whole reply must be one choice."""
    word = _PUNCTUATION.sub("", reply).lower()
    if word.startswith("answer:"):
        word = word.split(":", 1)[1].strip()
    return word if word in {c.lower() for c in choices} else None


def parse_text(reply: str, choices: Sequence[str] = ()) -> str:
    """Free text, without a leading "Answer:"."""
    return _LEAD.sub("", reply.strip(), count=1).strip()


def parse_queries(reply: str, choices: Sequence[str] = ()) -> list[str]:
    """Queries in a reply: lines starting "I googled:", or bare lines that end with "?"."""
    queries = []
    for line in reply.splitlines():
        match = _QUERY_LINE.match(line)  # always matches: every part of the pattern is optional
        query = match.group("query").strip('"').strip()
        if not query or _QUERY_LEAK.search(query):
            continue
        asked = match.group("prefix") or query.endswith("?")
        if asked and 2 <= len(query.split()) <= 40:
            queries.append(query)
    return queries


def parse_gate(reply: str, choices: Sequence[str] = ()) -> tuple[str, str]:
    """(label, reasoning) from a "Therefore: This disagrees ..." reply; ("unparsed", "") otherwise.

    The decision must be on a "Therefore:" line (or be the whole reply) and name exactly one
    label: "agrees and disagrees" is no answer.
    """
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    reasoning = next((m.group("rest") for m in map(_REASONING.match, lines) if m), "")
    decisions = [m.group("rest") for m in map(_THEREFORE.match, lines) if m]
    if not decisions and len(lines) == 1 and lines[0].lower().startswith("this "):
        decisions = lines
    if not decisions:
        return "unparsed", reasoning
    labels = {_gate_label(word) for word in _DECISION.findall(decisions[0])}
    if len(labels) != 1:
        return "unparsed", reasoning
    return labels.pop(), reasoning


def _gate_label(word: str) -> str:
    word = word.lower()
    if word.startswith("dis"):
        return "disagrees"
    return "agrees" if word.startswith("agree") else "irrelevant"


def parse_fix(reply: str, choices: Sequence[str] = ()) -> str | None:
    """The text after "My fix:" (its line only), or None when there is no usable fix."""
    for line in reply.splitlines():
        match = _FIX.match(line)
        if match:
            fix = match.group("fix").strip()
            return fix if fix and not _FIX_LEAK.search(fix) else None
    return None


# -- clauses: FinLFQA-style answers, {"clauses": [{text, evidence, code, knowledge}]} -----------

CLAUSE_KEYS = ("text", "evidence", "code", "knowledge")
MAX_CLAUSES = 4
MAX_TEXT_CHARS = 300
MAX_CODE_CHARS = 300


def parse_clauses(reply: str, choices: Sequence[str] = ()) -> list[dict[str, Any]] | None:
    """The clauses of a JSON reply, or None. Strict: the whole reply (blank ends aside) is one
    JSON object ``{"clauses": [...]}``, each clause has exactly ``text`` (non-empty string),
    ``evidence`` (company -> list of integer ids), ``code`` (string, "" for none) and
    ``knowledge`` (list of integer ids). Whether the ids exist is the caller's business."""
    try:
        value = json.loads(reply.strip())
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"clauses"} or not isinstance(value["clauses"], list):
        return None
    clauses = value["clauses"]
    if not clauses or not all(_is_clause(c) for c in clauses):
        return None
    return [{key: clause[key] for key in CLAUSE_KEYS} for clause in clauses]


def _is_int_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in value)


def _is_clause(clause: Any) -> bool:
    return (isinstance(clause, dict) and set(clause) == set(CLAUSE_KEYS)
            and isinstance(clause["text"], str) and bool(clause["text"].strip())
            and isinstance(clause["evidence"], dict) and all(_is_int_list(v) for v in clause["evidence"].values())
            and isinstance(clause["code"], str) and _is_int_list(clause["knowledge"]))


def clauses_schema(companies: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a clauses reply whose evidence names exactly ``companies``."""
    ids = {"type": "array", "items": {"type": "integer", "minimum": 1}}
    clause = {"type": "object", "additionalProperties": False, "required": list(CLAUSE_KEYS), "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS},
        "evidence": {"type": "object", "additionalProperties": False, "required": list(companies),
                     "properties": {company: ids for company in companies}},
        "code": {"type": "string", "maxLength": MAX_CODE_CHARS},
        "knowledge": ids}}
    return {"type": "object", "additionalProperties": False, "required": ["clauses"], "properties": {
        "clauses": {"type": "array", "minItems": 1, "maxItems": MAX_CLAUSES, "items": clause}}}


def _json_string(low: int, high: int) -> str:
    return r'"(?:[^"\\\x00-\x1f]|\\["\\n])' + "{%d,%d}" % (low, high) + '"'


def clauses_regex(companies: Sequence[str]) -> str:
    """A regular expression whose every match is a clauses reply (for engines that enforce a
    regex while decoding): one space after ``:`` and ``,``, companies in the order given."""
    ids = r"\[(?:[1-9]\d{0,2}(?:, [1-9]\d{0,2}){0,7})?\]"
    evidence = r"\{" + ", ".join(re.escape(json.dumps(c)) + ": " + ids for c in companies) + r"\}"
    clause = (r'\{"text": ' + _json_string(1, MAX_TEXT_CHARS) + r', "evidence": ' + evidence
              + r', "code": ' + _json_string(0, MAX_CODE_CHARS) + r', "knowledge": ' + ids + r"\}")
    return r'\{"clauses": \[' + clause + "(?:, " + clause + "){0,%d}" % (MAX_CLAUSES - 1) + r"\]\}"


# -- scores: an LLM judge's 1-5 ratings ---------------------------------------------------------

SCORE_KEYS = ("accuracy", "numerical_correctness", "evidence_entailment")
SCORES_REGEX = r'\{' + ", ".join(f'"{key}": [1-5]' for key in SCORE_KEYS) + r"\}"


def parse_scores(reply: str, choices: Sequence[str] = ()) -> dict[str, int] | None:
    """``{"accuracy": 1-5, "numerical_correctness": 1-5, "evidence_entailment": 1-5}`` and nothing
    else (blank ends aside), or None."""
    try:
        value = json.loads(reply.strip())
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != set(SCORE_KEYS):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in value.values()):
        return None
    return {key: value[key] for key in SCORE_KEYS}


def scores_schema() -> dict[str, Any]:
    score = {"type": "integer", "minimum": 1, "maximum": 5}
    return {"type": "object", "additionalProperties": False, "required": list(SCORE_KEYS),
            "properties": {key: score for key in SCORE_KEYS}}


# Format name (as written after "# answer:") -> parser(reply, the prompt's choices).
ANSWER_FORMATS: dict[str, Callable[[str, Sequence[str]], Any]] = {
    "label": parse_label,
    "text": parse_text,
    "queries": parse_queries,
    "gate": parse_gate,
    "fix": parse_fix,
    "clauses": parse_clauses,
    "scores": parse_scores,
}
