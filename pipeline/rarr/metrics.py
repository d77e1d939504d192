"""RARR's metrics: attribution (auto-AIS with our verifier), preservation, and their F1.

Gao et al. (2023) score a revision ``y`` of a text ``x`` with an attribution report ``A``:

- attribution ``Attr(y, A)``: the share of ``y``'s claims that the report's evidence supports;
- preservation ``Pres_Lev(x, y) = max(1 - Lev(x, y) / |x|, 0)``;
- ``F1_AP``: the harmonic mean of attribution after revision and preservation.
"""

from __future__ import annotations

from typing import Sequence

from citeline.core.protocols import Verifier
from citeline.core.sentences import RegexSentenceSplitter, SentenceSplitter


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insert, delete, substitute each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_ratio(original: str, revised: str) -> float:
    """``Lev(original, revised) / |original|``: 0 for no change, can exceed 1."""
    if not original:
        return 0.0 if not revised else float(len(revised))
    return levenshtein(original, revised) / len(original)


def preservation(original: str, revised: str) -> float:
    """``Pres_Lev = max(1 - Lev(x, y) / |x|, 0)``."""
    return max(1.0 - edit_ratio(original, revised), 0.0)


def f1_ap(attribution: float, preserved: float) -> float:
    """Harmonic mean of attribution and preservation (0 when both are 0)."""
    total = attribution + preserved
    return 0.0 if total == 0 else 2 * attribution * preserved / total


class AttributionScorer:
    """auto-AIS: the share of a text's claims (sentences) that some report evidence supports.

    A claim counts as supported when the verifier accepts it against any one snippet or against
    all snippets joined (a claim may combine facts from two snippets).
    """

    def __init__(self, verifier: Verifier, sentences: SentenceSplitter | None = None) -> None:
        self.verifier = verifier
        self.sentences = sentences or RegexSentenceSplitter()

    def claims(self, text: str) -> list[str]:
        return [text[start:end] for start, end in self.sentences.split(text)]

    def supported(self, text: str, evidence: Sequence[str]) -> list[bool]:
        """One flag per claim of ``text``, in order."""
        claims = self.claims(text)
        contexts = list(evidence) + (["\n".join(evidence)] if len(evidence) > 1 else [])
        if not claims or not contexts:
            return [False] * len(claims)
        verdicts = self.verifier.verify([(context, claim) for claim in claims for context in contexts])
        width = len(contexts)
        return [any(v.label == "supported" for v in verdicts[i * width:(i + 1) * width])
                for i in range(len(claims))]

    def score(self, text: str, evidence: Sequence[str]) -> float:
        """Share of supported claims; a text with no claims scores 0."""
        flags = self.supported(text, evidence)
        return sum(flags) / len(flags) if flags else 0.0
