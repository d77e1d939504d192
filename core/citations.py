"""Inline citation markers: find them, resolve them against the sources, report the bad ones.

Recognised forms: ``[1]``, ``[1, 2]``, ``[1-3]``, ``[1][2]``, ``[Source 2]``, and citations by
source id (``[doc7]``, ``[wiki:Paris]``). A number is always a 1-based position in the source list,
as in ALCE, whatever the sources' ids: with ids ``"2"`` and ``"1"``, ``[1]`` is still the first
source. Any other part is matched against the ids (exactly, then ignoring case), and only then
read as a labelled position (``[Source 2]``). Parsing is regular expressions over one bracket at a
time, never recursion, so brackets nested to any depth cost linear time. A bracket only counts
as a citation when every part of it looks like one, so ``[sic]`` or
``[citation needed]`` stay text, while ``[7]`` with three sources or ``[doc9]`` with no such id is
kept as a marker whose bad part is reported.
"""

from __future__ import annotations

import re
from typing import Sequence

from citeline.core.types import CitationMarker

_BRACKET = re.compile(r"\[([^\[\]\n]{0,80})\]")
_NUMBER = re.compile(r"(?:(?:source|doc|document|ref|reference|passage|citation)\s*)?#?\s*(\d+)", re.I)
_RANGE = re.compile(r"(\d+)\s*[-\u2013\u2014]\s*(\d+)")
# "1", "1-3", "1 2": numbers only. Each way through it is unique (a dash or else spaces between
# numbers), so a near miss such as "1   1   1 ... x" fails in linear time, not exponential.
_POSITIONS = re.compile(r"\d+(?:\s*[-\u2013\u2014]\s*\d+|\s+\d+)*")
_ID_LIKE = re.compile(r"[\w.:/#-]*\d[\w.:/#-]*")  # one token with a digit: a plausible source id
MAX_RANGE = 50  # "[1-1000]" is a typo, not a thousand citations


class _Resolver:
    def __init__(self, source_ids: Sequence[str]) -> None:
        self.ids = list(source_ids)
        self.by_id = {s: s for s in self.ids}
        self.by_folded_id = {s.casefold(): s for s in self.ids}

    def _index(self, number: int, found: list[str], invalid: list[str], raw: str) -> None:
        if 1 <= number <= len(self.ids):
            found.append(self.ids[number - 1])
        else:
            invalid.append(raw)

    def part(self, part: str, found: list[str], invalid: list[str]) -> bool:
        """Resolve one comma-separated part; False if it does not look like a citation at all."""
        is_id = not _POSITIONS.fullmatch(part)  # numbers are positions, never ids
        if is_id and (part in self.by_id or part.casefold() in self.by_folded_id):
            found.append(self.by_id.get(part) or self.by_folded_id[part.casefold()])
            return True
        if match := _NUMBER.fullmatch(part):
            self._index(int(match.group(1)), found, invalid, part)
            return True
        if match := _RANGE.fullmatch(part):
            first, last = int(match.group(1)), int(match.group(2))
            if first > last or last - first >= MAX_RANGE:
                invalid.append(part)
            else:
                for number in range(first, last + 1):
                    self._index(number, found, invalid, str(number))
            return True
        if re.fullmatch(r"\d+(?:\s+\d+)+", part):  # "[1 2]": a missing comma
            for number in part.split():
                self._index(int(number), found, invalid, number)
            return True
        if _ID_LIKE.fullmatch(part):
            invalid.append(part)
            return True
        return False

    def marker(self, content: str) -> tuple[list[str], list[str]] | None:
        parts = [p.strip() for p in re.split(r"[,;]", content)]
        if not any(parts):
            return None
        found: list[str] = []
        invalid: list[str] = []
        for part in parts:
            if part and not self.part(part, found, invalid):
                return None
        return found, invalid


def find_markers(text: str, source_ids: Sequence[str]) -> list[CitationMarker]:
    """Every citation marker in ``text``, in order, with exact offsets."""
    resolver = _Resolver(source_ids)
    markers = []
    for match in _BRACKET.finditer(text):
        resolved = resolver.marker(match.group(1))
        if resolved is not None:
            found, invalid = resolved
            markers.append(CitationMarker(match.start(), match.end(), match.group(0),
                                          tuple(found), tuple(invalid)))
    return markers


def mask_markers(text: str, markers: Sequence[CitationMarker]) -> str:
    """``text`` with each marker blanked to spaces: same length, so offsets still hold."""
    chars = list(text)
    for marker in markers:
        chars[marker.start:marker.end] = " " * (marker.end - marker.start)
    return "".join(chars)


def strip_markers(text: str, markers: Sequence[CitationMarker], offset: int = 0) -> str:
    """``text`` (starting at ``offset`` of the answer) without its markers, spacing tidied."""
    pieces, position = [], 0
    for marker in markers:
        pieces.append(text[position:marker.start - offset].rstrip(" \t"))
        position = marker.end - offset
    pieces.append(text[position:])
    joined = ""
    for piece in pieces:
        if joined[-1:].isalnum() and piece[:1].isalnum():  # "a[1]b" must not become "ab"
            joined += " "
        joined += piece
    return re.sub(r"[ \t]{2,}", " ", joined).strip()
