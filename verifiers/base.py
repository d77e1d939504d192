"""The verifier protocol: does this evidence support this claim?"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from citeline.pipeline.types import NOT_SUPPORTED, SUPPORTED, Verdict

Pair = tuple[str, str]  # (evidence text, claim text)


@runtime_checkable
class Verifier(Protocol):
    """Judges a batch of (evidence, claim) pairs; one verdict per pair, in order."""

    name: str

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]: ...


def verdict_from_probability(probability: float, threshold: float, verifier: str) -> Verdict:
    label = SUPPORTED if probability >= threshold else NOT_SUPPORTED
    return Verdict(label=label, probability=float(probability), verifier=verifier)
