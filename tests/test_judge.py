"""The LLM judge and the cascade, with a scripted LLM (no model, no network)."""

from __future__ import annotations

import math

import pytest

from citeline.evals.attributionbench import Example, predict
from citeline.core.generation import Completion, GenerationResult, TokenLogprob
from citeline.llm.scripted import ScriptedLLM
from citeline.core.types import Verdict
from citeline.verifiers.judge import CascadeVerifier, LLMJudgeVerifier, label_probabilities, parse_label

PAIRS = [("Paris is the capital of France.", "Paris is France's capital.")]


@pytest.mark.parametrize("reply, label", [
    ("Attributable", "attributable"), ("  extrapolatory.", "extrapolatory"), ('"Contradictory"', "contradictory"),
    ("**Attributable**", "attributable"), ("Answer: Attributable", "attributable"),
    ("Attributable, because the evidence says so", None), ("yes", None), ("", None),
])
def test_replies_are_parsed_strictly(reply, label):
    assert parse_label(reply) == label


def test_text_replies_become_verdicts_and_unparseable_ones_are_counted():
    judge = LLMJudgeVerifier(ScriptedLLM(["Attributable", "Contradictory", "I think it is fine"]))
    verdicts = judge.verify(PAIRS * 3)
    assert [v.label for v in verdicts[:2]] == ["supported", "not_supported"]
    assert verdicts[2].probability is None and verdicts[2].verifier.endswith(":unparsed")
    assert [(f.index, f.reply) for f in judge.failures] == [(2, "I think it is fine")]


def test_the_prompt_carries_evidence_and_claim_and_asks_for_logprobs_and_one_label():
    llm = ScriptedLLM(["Attributable"])
    LLMJudgeVerifier(llm).verify(PAIRS)
    (request,) = llm.requests
    text = "\n".join(m.content for m in request.messages)
    assert PAIRS[0][0] in text and PAIRS[0][1] in text and request.logprobs and request.temperature == 0.0
    assert request.structured.choice == ("Attributable", "Extrapolatory", "Contradictory")


class _NoChoices(ScriptedLLM):
    def generate(self, requests):
        if any(r.structured for r in requests):
            from citeline.core.generation import UnsupportedRequest

            raise UnsupportedRequest("choice needs structured='vllm'")
        return super().generate(requests)


def test_a_backend_without_choices_is_asked_again_for_free_text():
    judge = LLMJudgeVerifier(_NoChoices(["Extrapolatory"]))
    (verdict,) = judge.verify(PAIRS)
    assert verdict.label == "not_supported" and not judge.constrained


class _LogprobLLM:
    name = "logprob-llm"

    def __init__(self, top):
        self.top = top

    def generate(self, requests):
        token = TokenLogprob("Att", math.log(0.6), self.top)
        return [GenerationResult((Completion("Attributable", logprobs=(token,)),), "fake", "fake") for _ in requests]


def test_logprobs_give_a_probability_renormalised_over_the_labels():
    top = {"Att": math.log(0.6), "Ext": math.log(0.2), "Contr": math.log(0.1), "The": math.log(0.1)}
    (verdict,) = LLMJudgeVerifier(_LogprobLLM(top)).verify(PAIRS)
    assert verdict.probability == pytest.approx(0.6 / 0.9)
    assert label_probabilities({"The": -0.1}) is None


def test_an_unparseable_judge_verdict_counts_as_wrong_in_the_bench():
    example = Example("1", "LFQA", "q", "c", ("evidence",), True)
    assert predict(LLMJudgeVerifier(ScriptedLLM(["no idea"])), [example]) == [None]


class _Fixed:
    def __init__(self, name, probabilities):
        self.name, self.probabilities, self.seen = name, probabilities, []

    def verify(self, pairs):
        self.seen += list(pairs)
        return [Verdict("supported" if p >= 0.5 else "not_supported", p, self.name) for p in self.probabilities]


def test_the_cascade_sends_only_the_uncertain_band_to_the_judge():
    small = _Fixed("small", [0.05, 0.45, 0.95, 0.6])
    judge = LLMJudgeVerifier(ScriptedLLM(["Attributable", "Extrapolatory"]))
    pairs = [(f"evidence {i}", f"claim {i}") for i in range(4)]
    cascade = CascadeVerifier(small, judge, low=0.3, high=0.7)
    verdicts = cascade.verify(pairs)
    assert [v.verifier for v in verdicts] == ["small", judge.name, "small", judge.name]
    assert [v.label for v in verdicts] == ["not_supported", "supported", "supported", "not_supported"]
    assert cascade.judged == 2
    with pytest.raises(ValueError, match="low=0.8, high=0.2"):
        CascadeVerifier(small, judge, low=0.8, high=0.2)


def test_a_lone_logprob_without_alternatives_is_read_as_text():
    token = TokenLogprob("Ext", -3.0, {})  # e.g. a constrained choice scored without its rivals

    class _Lone:
        name = "lone"

        def generate(self, requests):
            return [GenerationResult((Completion("Extrapolatory", logprobs=(token,)),), "f", "f") for _ in requests]

    (verdict,) = LLMJudgeVerifier(_Lone()).verify(PAIRS)
    assert verdict.label == "not_supported" and verdict.probability == 0.0
