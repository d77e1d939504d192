"""The verifier protocol (defined in the foundation, ``citeline.core.protocols``) and helpers."""

from __future__ import annotations

from citeline.core.protocols import Pair, Verifier
from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict

__all__ = ["Pair", "Verifier", "split_statement", "verdict_from_probability"]


def verdict_from_probability(probability: float, threshold: float, verifier: str) -> Verdict:
    label = SUPPORTED if probability >= threshold else NOT_SUPPORTED
    return Verdict(label=label, probability=float(probability), verifier=verifier)


def split_statement(claim: str) -> tuple[str, str]:
    """``(context, statement)``: a claim's last non-blank line is what it states; the lines before
    it are context (e.g. the question it answers, as AttributionBench writes its claims)."""
    lines = claim.splitlines(keepends=True)
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return "".join(lines[:i]), lines[i].splitlines()[0]
    return "", claim
