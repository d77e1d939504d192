"""Split an answer into claims (sentences) that carry their citation markers, offsets exact."""

from __future__ import annotations

from bisect import bisect_right
from typing import Sequence

from citeline.core.citations import find_markers, mask_markers, strip_markers
from citeline.core.sentences import SentenceSplitter, SpacySentenceSplitter, Span
from citeline.core.types import CitationMarker, Claim


class ClaimSplitter:
    """Sentences become claims; each citation marker belongs to the sentence it stands in.

    Markers are blanked before sentence splitting (``"France [1]."`` would otherwise split
    after the marker), and a marker that stands between two sentences (``"France. [1] It"``)
    belongs to the sentence before it, the usual place for a citation.
    """

    def __init__(self, sentences: SentenceSplitter | None = None) -> None:
        self.sentences = sentences or SpacySentenceSplitter()

    def split(self, answer: str, source_ids: Sequence[str]) -> list[Claim]:
        return self.split_many([(answer, source_ids)])[0]

    def split_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[Claim]]:
        markers = [find_markers(answer, ids) for answer, ids in items]
        masked = [mask_markers(answer, found) for (answer, _), found in zip(items, markers)]
        spans = self.sentences.split_many(masked)
        return [_claims(answer, found, sentence_spans)
                for (answer, _), found, sentence_spans in zip(items, markers, spans)]


def _claims(answer: str, markers: list[CitationMarker], spans: list[Span]) -> list[Claim]:
    if not spans:
        return []
    owned: list[list[CitationMarker]] = [[] for _ in spans]
    starts = [start for start, _ in spans]  # sorted: a binary search keeps long answers linear-ish
    for marker in markers:
        owned[max(bisect_right(starts, marker.start) - 1, 0)].append(marker)
    claims = []
    for (start, end), mine in zip(spans, owned):
        start = min([start] + [m.start for m in mine])
        end = max([end] + [m.end for m in mine])
        text = answer[start:end]
        claims.append(Claim(text=text, start=start, end=end,
                            check_text=strip_markers(text, mine, offset=start), markers=tuple(mine)))
    return claims
