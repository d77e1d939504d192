"""RARR's configuration and typed results. Results round-trip through JSON like ``Report``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from citeline.core.types import JsonRecord, Passage

QuestionSource = Literal["model", "claim"]  # "claim": the model gave no usable question
GateLabel = Literal["agrees", "disagrees", "irrelevant", "unparsed"]
EditStatus = Literal[
    "applied",  # the model's edit, within the bound
    "rejected_too_large",  # the model's edit changed more than max_edit_ratio allows
    "unparsed",  # the model's reply had no usable "My fix:" line
    "no_change",  # the model's fix repeats the text
    "fallback_replaced",  # evidence-grounded fallback: a sentence replaced by an evidence sentence
    "fallback_dropped",  # evidence-grounded fallback: an unsupported sentence removed
    "fallback_number",  # evidence-grounded fallback: a number replaced by the evidence's number of its kind
    "fallback_rejected",  # the fallback found no edit within the bound
]
FALLBACK_EDITS = ("none", "evidence")
GATE_MODES = ("reasoning", "choice", "verifier")


@dataclass(frozen=True)
class RarrConfig:
    """Knobs of the method. Defaults follow the RARR paper's released settings where it has one, but
    for the gate and the fallback edit: ``gate_mode="reasoning", fallback_edit="none"`` is the paper."""

    question_samples: int = 3  # question-generation samples, deduplicated (RARR: 3)
    question_temperature: float = 0.7  # RARR samples questions at 0.7
    max_questions: int = 6
    hits_per_question: int = 3  # retrieval results per question (RARR: 3 search results)
    window_sentences: int = 5  # sentence windows over each hit (RARR: 5 sentences, stride 1)
    window_stride: int = 1
    evidence_per_question: int = 1  # best windows kept per question (RARR: 1)
    max_edit_ratio: float = 0.5  # reject an edit with Lev(before, after) / |before| above this
    report_size: int = 5  # attribution report: at most this many snippets (RARR: 5)
    fallback_edit: str = "evidence"  # evidence-grounded edit when the model's edit fails; "none": RARR's
    # "verifier" (default): no model, the evidence disagrees where the verifier finds a sentence of
    # the text contradicted by it (or a number it does not give); "reasoning": RARR's published gate
    # (reasoning, then a "Therefore:" line, parsed strictly); "choice": the engine picks one of the
    # three "Therefore:" lines (structured output), which a weak model can always answer
    gate_mode: str = "verifier"
    max_evidence_chars: int = 1000  # evidence shown to the model, cut at a sentence end
    max_new_tokens: int = 128  # for questions and the gate; an edit gets room for the whole text
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.gate_mode not in GATE_MODES:
            raise ValueError(f"gate_mode must be one of {GATE_MODES}, not {self.gate_mode!r}")
        if self.fallback_edit not in FALLBACK_EDITS:
            raise ValueError(f"fallback_edit must be one of {FALLBACK_EDITS}, not {self.fallback_edit!r}")
        for name in ("question_samples", "max_questions", "hits_per_question", "window_sentences",
                     "window_stride", "evidence_per_question", "report_size", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"RarrConfig.{name} must be at least 1, not {getattr(self, name)}")
        if self.max_edit_ratio < 0:
            raise ValueError(f"RarrConfig.max_edit_ratio must be >= 0, not {self.max_edit_ratio}")


@dataclass
class RarrCounters:
    """What happened to the model's output: every parse failure and fallback is counted here."""

    llm_calls: int = 0
    question_parse_failures: int = 0  # samples with no usable question
    question_echoes: int = 0  # "questions" that only repeated the text
    question_fallbacks: int = 0  # texts whose claims became the queries
    gate_parse_failures: int = 0
    gates_disagree: int = 0
    edit_parse_failures: int = 0
    edits_rejected_too_large: int = 0
    edits_applied: int = 0
    fallback_edits: int = 0

    def add(self, other: RarrCounters) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Question:
    text: str
    source: QuestionSource = "model"


@dataclass(frozen=True)
class EvidenceSnippet:
    """A sentence window of a retrieved passage (an exact span of its document) and its rank score."""

    question: str
    passage: Passage
    score: float


@dataclass(frozen=True)
class GateDecision:
    question: str
    evidence: str
    label: GateLabel
    reasoning: str = ""
    raw: str = ""  # the model's reply, kept for auditing


@dataclass(frozen=True)
class EditStep:
    question: str
    status: EditStatus
    before: str
    after: str  # equals ``before`` unless the edit was kept
    edit_ratio: float = 0.0
    raw: str = ""


@dataclass(frozen=True)
class RarrMetrics:
    attribution_before: float
    attribution_after: float
    preservation: float
    f1_ap: float
    claims_before: int = 0
    claims_after: int = 0


@dataclass(frozen=True)
class RevisionResult(JsonRecord):
    """One revised text. ``original`` is never modified; ``revised`` equals it when nothing changed."""

    original: str
    revised: str
    diff: str  # word-level: [-removed-]{+added+}
    questions: tuple[Question, ...]
    evidence: tuple[EvidenceSnippet, ...]
    gates: tuple[GateDecision, ...]
    edits: tuple[EditStep, ...]
    report: tuple[EvidenceSnippet, ...]  # the attribution report: at most report_size snippets
    metrics: RarrMetrics
    counters: RarrCounters
    seconds: float = 0.0
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.revised != self.original

