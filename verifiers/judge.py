"""An LLM judge behind the Verifier protocol (AttrScore's three labels), and a cascade that asks
it only about the pairs a small verifier is unsure of.

The judge answers attributable / extrapolatory / contradictory; only "attributable" counts as
supported. By default the answer is constrained to the three labels (structured ``choice``
output: small models otherwise wander off the format; a backend that refuses choices is asked
again without). Where the engine returns token log-probabilities, P(supported) is the share of the
first token's probability that goes to "attributable" among the three labels; otherwise the
reply must be exactly one label (case, quotes and a trailing full stop aside). A reply that is
neither is a counted failure: its verdict has no probability (``probability=None``: it never
ranks as a best source, and the bench counts it wrong) and ``failures`` records the pair and the
raw reply. It never silently becomes a label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from citeline.core.protocols import clear_cache, warm_up
from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict
from citeline.prompts import load_prompt
from citeline.prompts.answers import parse_label as parse_choice
from citeline.verifiers.base import Pair, Verifier, verdict_from_probability

PROMPT = "attribution_judge"
LABELS = tuple(choice.lower() for choice in load_prompt(PROMPT).choices)  # attributable, extrapolatory, ...


@dataclass(frozen=True)
class JudgeFailure:
    index: int  # position of the pair in the verify call
    reply: str


def parse_label(text: str) -> str | None:
    """The label a reply states, or None: the whole reply must be one label (the prompt's parser)."""
    return parse_choice(text, LABELS)


def label_probabilities(top: dict[str, float]) -> dict[str, float] | None:
    """P(label) from one token's top log-probabilities, renormalised over the three labels.

    A token counts for a label when it is an unambiguous prefix of it ("Att", "ext", "Contr").
    """
    mass = dict.fromkeys(LABELS, 0.0)
    for token, logprob in top.items():
        word = token.strip().lower()
        matches = [label for label in LABELS if len(word) >= 2 and label.startswith(word)]
        if len(matches) == 1:
            mass[matches[0]] += math.exp(logprob)
    total = sum(mass.values())
    return {label: m / total for label, m in mass.items()} if total > 0 else None


class LLMJudgeVerifier:
    """Asks an LLM (any ``citeline.llm`` engine) whether the evidence supports the claim."""

    def __init__(self, llm: Any, prompt: str = PROMPT, threshold: float = 0.5,
                 max_evidence_chars: int = 12000, logprobs: int = 10, constrained: bool = True,
                 name: str | None = None) -> None:
        self.llm = llm
        self.constrained = constrained
        self.prompt_name = prompt
        self.threshold = threshold
        self.max_evidence_chars = max_evidence_chars
        self.logprobs = logprobs
        self.name = name or f"judge:{getattr(llm, 'name', 'llm')}"
        self.failures: list[JudgeFailure] = []

    def warm_up(self) -> None:
        warm_up(self.llm)

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        if not pairs:
            return []
        from citeline.core.generation import UnsupportedRequest

        try:
            results = self.llm.generate([self._request(e, c) for e, c in pairs])
        except UnsupportedRequest:
            if not self.constrained:
                raise
            self.constrained = False  # this backend cannot constrain choices: parse free text
            results = self.llm.generate([self._request(e, c) for e, c in pairs])
        return [self._verdict(i, result.completions[0]) for i, result in enumerate(results)]

    @property
    def prompt(self) -> Any:
        return load_prompt(self.prompt_name)

    def _request(self, evidence: str, claim: str) -> Any:
        return self.prompt.request(max_tokens=8, temperature=0.0, logprobs=self.logprobs, constrained=self.constrained,
                                   evidence=evidence[: self.max_evidence_chars], claim=claim)

    def _verdict(self, index: int, completion: Any) -> Verdict:
        probabilities = None
        if completion.logprobs and completion.logprobs[0].top:  # no alternatives: nothing to weigh
            first = completion.logprobs[0]
            probabilities = label_probabilities({first.token: first.logprob, **first.top})
        if probabilities is None:
            label = self.prompt.parse(completion.text)
            if label is None:
                self.failures.append(JudgeFailure(index, completion.text))
                return Verdict(NOT_SUPPORTED, None, f"{self.name}:unparsed")
            return Verdict(SUPPORTED if label == "attributable" else NOT_SUPPORTED,
                           1.0 if label == "attributable" else 0.0, self.name)
        return verdict_from_probability(probabilities["attributable"], self.threshold, self.name)


def judge(spec: str | None = None) -> LLMJudgeVerifier:
    """The registry's ``judge:BACKEND[:MODEL]``; an ``openai`` server is found at $OPENAI_BASE_URL."""
    return LLMJudgeVerifier(_llm("judge", spec))


def cascade(spec: str | None = None) -> CascadeVerifier:
    """The registry's ``cascade:BACKEND[:MODEL]``: the default verifier, then the judge."""
    from citeline.verifiers.default import load_default_verifier

    return CascadeVerifier(load_default_verifier(), LLMJudgeVerifier(_llm("cascade", spec)))


def _llm(kind: str, spec: str | None) -> Any:
    import os

    from citeline.llm.backends import LLMS, load_llm

    backend, _, model = (spec or "").partition(":")
    if backend not in LLMS:
        raise ValueError(f"bad verifier '{kind}:{spec or ''}': write {kind}:BACKEND[:MODEL] with BACKEND one of "
                         f"{', '.join(LLMS.names())}, e.g. {kind}:local or {kind}:openai:my-model")
    base_url = os.environ.get("OPENAI_BASE_URL") if LLMS.get(backend).takes("base_url") else None
    if LLMS.get(backend).takes("base_url") and not base_url:
        raise ValueError(f"verifier '{kind}:{spec}' needs the server's address: set OPENAI_BASE_URL, "
                         f"e.g. http://127.0.0.1:8000/v1")
    return load_llm(backend, model or None, base_url)


class CascadeVerifier:
    """The small verifier decides where it is confident; the judge decides the band [low, high)."""

    def __init__(self, small: Verifier, judge: Verifier, low: float = 0.3, high: float = 0.7) -> None:
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"CascadeVerifier needs 0 <= low <= high <= 1, got low={low}, high={high}")
        self.small, self.judge, self.low, self.high = small, judge, low, high
        self.name = f"cascade({small.name},{judge.name})"
        self.judged = 0  # pairs sent to the judge so far

    def warm_up(self) -> None:
        warm_up(self.small)
        warm_up(self.judge)

    def clear_cache(self) -> None:
        clear_cache(self.small)
        clear_cache(self.judge)

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        verdicts = list(self.small.verify(pairs))
        unsure = [i for i, v in enumerate(verdicts) if self.low <= v.probability < self.high]
        if unsure:
            for i, verdict in zip(unsure, self.judge.verify([pairs[i] for i in unsure])):
                verdicts[i] = verdict
            self.judged += len(unsure)
        return verdicts
