"""The answer formats prompt files declare (``# answer: NAME``), each with its strict parser.

A prompt's reply is read only by the parser its file names, so the format a prompt asks for and
the code that reads it live side by side here, not copied into the stage that sends it. A parser
returns ``None`` (or an empty list, or the label "unparsed") for a reply it cannot read: the
caller counts that as a failure, it never becomes a default answer.
"""

from __future__ import annotations

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


# Format name (as written after "# answer:") -> parser(reply, the prompt's choices).
ANSWER_FORMATS: dict[str, Callable[[str, Sequence[str]], Any]] = {
    "label": parse_label,
    "text": parse_text,
    "queries": parse_queries,
    "gate": parse_gate,
    "fix": parse_fix,
}
