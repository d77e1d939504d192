"""citeline's data model: typed, JSON-serialisable records shared by every stage.

Offsets are Python string indices (code points), half-open: ``text[start:end]`` is the quoted
span. A ``Passage`` checks on construction that its span fits its text; a span into another
record is checked against it by ``Passage.check_against(document)`` and ``Answer.check_claim``
(which the claim splitter calls on every claim it makes). A ``Claim`` built by hand is not
checked until then.
Every record carries a free ``metadata`` dict so later stages (span localisation, programs,
numbers) can attach provenance without changing these shapes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

SUPPORTED = "supported"
NOT_SUPPORTED = "not_supported"
Label = Literal["supported", "not_supported"]


class SpanError(ValueError):
    """A character span that does not match the text it claims to quote."""


def _check_span(text: str, start: int, end: int, quoted: str, what: str) -> None:
    if not (0 <= start <= end <= len(text)):
        raise SpanError(f"{what}: span [{start}, {end}) is outside a text of length {len(text)}")
    if text[start:end] != quoted:
        raise SpanError(f"{what}: text[{start}:{end}] is {text[start:end]!r}, not {quoted!r}")


@dataclass(frozen=True)
class Document:
    """A source the answer may cite: a web page, a file, a retrieved passage."""

    id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("Document.id must be a non-empty string")
        if not isinstance(self.text, str):
            raise TypeError(f"Document {self.id!r}: text must be a string, not {type(self.text).__name__}")

    def passage(self, start: int = 0, end: int | None = None) -> Passage:
        end = len(self.text) if end is None else end
        return Passage(doc_id=self.id, start=start, end=end, text=self.text[start:end])


@dataclass(frozen=True)
class Passage:
    """An exact character span of one document."""

    doc_id: str
    start: int
    end: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0 <= self.start <= self.end) or self.end - self.start != len(self.text):
            raise SpanError(f"Passage of {self.doc_id!r}: span [{self.start}, {self.end}) "
                            f"does not fit a text of length {len(self.text)}")

    def check_against(self, document: Document) -> None:
        _check_span(document.text, self.start, self.end, self.text, f"Passage of {self.doc_id!r}")


@dataclass(frozen=True)
class CitationMarker:
    """One bracketed marker in the answer, e.g. ``[1, 3]``, resolved against the sources."""

    start: int
    end: int
    raw: str
    source_ids: tuple[str, ...] = ()  # sources it resolves to, in order of appearance
    invalid: tuple[str, ...] = ()  # parts that point at no source, e.g. "7" when there are 3


@dataclass(frozen=True)
class Claim:
    """A checkable unit of the answer (a sentence for now) with the citations it carries.

    ``text`` is the exact span ``answer[start:end]``, markers included; ``check_text`` is the
    same sentence with the markers removed, which is what verifiers see.
    """

    text: str
    start: int
    end: int
    check_text: str
    markers: tuple[CitationMarker, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Cited sources, deduplicated, in order of first citation."""
        return tuple(dict.fromkeys(s for m in self.markers for s in m.source_ids))

    @property
    def invalid_citations(self) -> tuple[str, ...]:
        return tuple(i for m in self.markers for i in m.invalid)


@dataclass(frozen=True)
class Answer:
    text: str
    question: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def check_claim(self, claim: Claim) -> None:
        _check_span(self.text, claim.start, claim.end, claim.text, "Claim")
        for marker in claim.markers:
            _check_span(self.text, marker.start, marker.end, marker.raw, "CitationMarker")


@dataclass(frozen=True)
class Verdict:
    """A verifier's judgement of one (evidence, claim) pair."""

    label: Label
    probability: float | None  # P(supported), in [0, 1]; None: the verifier could not judge (a counted failure)
    verifier: str  # which verifier, e.g. "lexical" or "cross-encoder:path/to/model"
    # Where the verifier reads them: P(the evidence contradicts the claim), and the character span
    # of the evidence text it was given that decided (the window that supports best).
    contradiction: float | None = None
    window: tuple[int, ...] | None = None
    reasons: tuple[str, ...] = ()  # why it is not supported, where the verifier can say (numbers)

    @property
    def judged(self) -> bool:
        return self.probability is not None

    @property
    def ranking_score(self) -> float:
        """P(supported) for ranking and picking the best: a verdict that is no judgement ranks last."""
        return -1.0 if self.probability is None else self.probability


@dataclass(frozen=True)
class Hit:
    """One ranked retrieval result."""

    passage: Passage
    score: float
    retriever: str  # which retriever scored it, e.g. "bm25" or "hybrid(bm25,dense)"
    rank: int = 0  # 0-based position in its result list


@dataclass(frozen=True)
class Evidence:
    """Passages judged together against a claim, and the verdict on them."""

    passages: tuple[Passage, ...]
    verdict: Verdict | None = None
    score: float | None = None  # a retriever's score, where a retriever found it


@dataclass(frozen=True)
class CitationCheck:
    """ALCE's checks of one claim's citations (citation recall and precision)."""

    cited: tuple[str, ...]  # the cited source ids that were checked (ALCE: at most 3)
    recall: float  # 1 if the cited sources together support the claim, else 0
    precise: tuple[str, ...] = ()  # cited ids that ALCE counts as relevant
    irrelevant: tuple[str, ...] = ()  # cited ids ALCE counts as irrelevant


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    support: Evidence | None  # the cited evidence and its verdict; None without valid citations
    citations: CitationCheck
    best_source: Evidence | None = None  # the single source that supports it best, cited or not
    problems: tuple[str, ...] = ()  # human-readable findings, e.g. "cites [7]: no such source"


class JsonRecord:
    """``to_dict``/``to_json`` and back for a record made of this module's types. The JSON is
    strict: a NaN or an infinity is refused rather than written, since it is not JSON."""

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        return from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Any:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class Report(JsonRecord):
    """Everything citeline found about one answer. Round-trips through JSON."""

    answer: Answer
    documents: tuple[Document, ...]
    claims: tuple[ClaimResult, ...]
    metrics: dict[str, float]
    verifier: str
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def to_dict(record: Any) -> Any:
    """Plain JSON-ready data of any record above (tuples become lists). Unlike
    ``dataclasses.asdict`` it copies nothing it does not convert: 5x faster on large reports."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {name: to_dict(getattr(record, name)) for name in _field_names(type(record))}
    if isinstance(record, (list, tuple)):
        return [to_dict(item) for item in record]
    if isinstance(record, dict):
        return {key: to_dict(value) for key, value in record.items()}
    return record


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def from_dict(cls: Any, data: Any) -> Any:
    """Rebuild a record of type ``cls`` from ``to_dict`` output, checking spans on the way."""
    origin = typing.get_origin(cls)
    if origin is typing.Union or origin is types.UnionType:
        if data is None:
            return None
        inner = [a for a in typing.get_args(cls) if a is not type(None)]
        return from_dict(inner[0], data)
    if origin is tuple:
        return tuple(from_dict(typing.get_args(cls)[0], item) for item in data)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        return cls(**{k: from_dict(hints[k], v) for k, v in data.items()})
    return data
