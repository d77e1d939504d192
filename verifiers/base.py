"""The verifier protocol (defined in the foundation, ``citeline.core.protocols``) and helpers."""

from __future__ import annotations

from citeline.core.protocols import Pair, Verifier
from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict

__all__ = ["Pair", "Verifier", "verdict_from_probability"]


def verdict_from_probability(probability: float, threshold: float, verifier: str) -> Verdict:
    label = SUPPORTED if probability >= threshold else NOT_SUPPORTED
    return Verdict(label=label, probability=float(probability), verifier=verifier)
