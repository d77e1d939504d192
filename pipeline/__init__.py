"""citeline's data model and stages. Importing this is cheap: models load on first use."""

from citeline.pipeline.check import CheckRequest, CitationChecker
from citeline.pipeline.claims import ClaimSplitter
from citeline.pipeline.sentences import RegexSentenceSplitter, SpacySentenceSplitter
from citeline.pipeline.types import (
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

__all__ = [
    "Answer", "CheckRequest", "CitationCheck", "CitationChecker", "CitationMarker", "Claim",
    "ClaimResult", "ClaimSplitter", "Document", "Evidence", "Hit", "Passage", "RegexSentenceSplitter",
    "Report", "SpacySentenceSplitter", "Verdict",
]
