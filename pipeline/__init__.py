"""citeline's data model and stages. Importing this is cheap: models load on first use."""

from citeline.core.claims import ClaimSplitter
from citeline.core.sentences import RegexSentenceSplitter, SpacySentenceSplitter
from citeline.core.types import (
    Answer,
    CitationCheck,
    CitationMarker,
    Claim,
    ClaimResult,
    Document,
    Evidence,
    Hit,
    Passage,
    Report,
    Verdict,
)
from citeline.pipeline.check import CheckRequest, CitationChecker

__all__ = [
    "Answer", "CheckRequest", "CitationCheck", "CitationChecker", "CitationMarker", "Claim",
    "ClaimResult", "ClaimSplitter", "Document", "Evidence", "Hit", "Passage", "RegexSentenceSplitter",
    "Report", "SpacySentenceSplitter", "Verdict",
]
