"""Regression tests for the defects of issue 13; each failed on the code before the fix."""

from __future__ import annotations

import json

from citeline.core.types import Document
from citeline.llm.scripted import ScriptedLLM
from citeline.pipeline import CitationChecker, ClaimSplitter, RegexSentenceSplitter
from citeline.verifiers.judge import LLMJudgeVerifier


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _judge_checker(reply_for):
    """A checker whose judge answers by the evidence it is shown: unparseable for 'alpha'."""
    llm = ScriptedLLM(lambda request: reply_for("\n".join(m.content for m in request.messages)))
    return CitationChecker(LLMJudgeVerifier(llm, constrained=False), ClaimSplitter(RegexSentenceSplitter()))


def test_an_unparsed_judge_reply_is_never_the_best_source_nor_nan_in_json():
    # Defect 1: the unparsed reply was probability=NaN; max() kept it as the best source when it
    # came first, and json.dumps wrote NaN into results.jsonl.
    checker = _judge_checker(lambda text: "no idea" if "alpha" in text else "Extrapolatory")
    documents = [Document("a", "alpha says something"), Document("b", "beta says something else")]
    report = checker.check("The claim [2].", documents)
    best = report.claims[0].best_source
    assert best.passages[0].doc_id == "b" and best.verdict.probability == 0.0
    data = _strict_json(report.to_json())
    verdicts = [data["claims"][0]["support"]["verdict"], data["claims"][0]["best_source"]["verdict"]]
    assert all(v["probability"] is not None for v in verdicts)
    assert len(checker.verifier.failures) == 1


def test_an_unjudged_cited_source_is_reported_not_formatted_as_a_number():
    checker = _judge_checker(lambda text: "no idea")
    report = checker.check("The claim [1].", [Document("a", "alpha")])
    assert report.claims[0].support.verdict.probability is None
    assert "could not judge" in " ".join(report.claims[0].problems)
    assert _strict_json(report.to_json())["claims"][0]["support"]["verdict"]["probability"] is None
