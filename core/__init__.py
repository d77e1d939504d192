"""citeline's foundation: the data model, citations, sentences, claims, the stage protocols,
argument checks and paths. It imports nothing else from citeline, and everything else may
import it (see CONTRIBUTING.md for the layer table)."""

from citeline.core.types import (
    NOT_SUPPORTED,
    SUPPORTED,
    Answer,
    CitationCheck,
    CitationMarker,
    Claim,
    ClaimResult,
    Document,
    Evidence,
    Hit,
    JsonRecord,
    Passage,
    Report,
    SpanError,
    Verdict,
)

__all__ = ["NOT_SUPPORTED", "SUPPORTED", "Answer", "CitationCheck", "CitationMarker", "Claim", "ClaimResult",
           "Document", "Evidence", "Hit", "JsonRecord", "Passage", "Report", "SpanError", "Verdict"]
