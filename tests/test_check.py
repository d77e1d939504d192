import pytest

from citeline.pipeline.check import CitationChecker, evidence_text
from citeline.core.claims import ClaimSplitter
from citeline.core.sentences import RegexSentenceSplitter
from citeline.core.types import Document
from citeline.verifiers.lexical import LexicalVerifier

# With threshold 1.0 the lexical verifier says "supported" iff the evidence holds every content
# word of the claim, which makes ALCE's numbers easy to work out by hand.
DOCS = [Document("d1", "alpha beta"), Document("d2", "gamma"), Document("d3", "alpha beta gamma"),
        Document("d4", "delta")]


class CountingVerifier(LexicalVerifier):
    def __init__(self):
        super().__init__(threshold=1.0)
        self.calls = []

    def verify(self, pairs):
        self.calls.append(list(pairs))
        return super().verify(pairs)


def checker(verifier=None, **kwargs):
    return CitationChecker(verifier or CountingVerifier(), ClaimSplitter(RegexSentenceSplitter()), **kwargs)


def test_alce_recall_and_precision_on_a_hand_computed_answer():
    answer = ("Alpha beta [1][2]. Alpha gamma [1][2]. Beta [3]. Delta [1]. Gamma [9]. Plain sentence.")
    report = checker().check(answer, DOCS)
    checks = [r.citations for r in report.claims]
    assert [c.recall for c in checks] == [1, 1, 1, 0, 0, 0]
    # [2] adds nothing to "Alpha beta": alone it fails and [1] alone suffices
    assert checks[0].precise == ("d1",) and checks[0].irrelevant == ("d2",)
    # "Alpha gamma" needs both
    assert checks[1].precise == ("d1", "d2") and checks[1].irrelevant == ()
    assert checks[2].precise == ("d3",)
    assert checks[3].cited == ("d1",) and checks[3].precise == ()
    assert checks[4].cited == ()  # [9] points nowhere: rejected, not counted as checked
    assert report.metrics["citation_recall"] == pytest.approx(3 / 6)
    # relevant 1 + 2 + 1 + 0 over checked 2 + 2 + 1 + 1
    assert report.metrics["citation_precision"] == pytest.approx(4 / 6)
    assert report.metrics["invalid_citations"] == 1
    assert report.metrics["uncited_claims"] == 1
    # every claim but "Plain sentence" has a single source that supports it
    assert report.metrics["support_rate"] == pytest.approx(5 / 6)


def test_a_citation_to_a_missing_source_fails_the_sentence_as_in_alce():
    report = checker().check("Alpha beta [1][9].", DOCS)
    result = report.claims[0]
    assert result.citations.recall == 0 and result.support is None
    assert any("cites [9]: no such source" in p for p in result.problems)


def test_only_the_first_three_citations_are_checked():
    report = checker().check("Delta [1][2][3][4].", DOCS)
    result = report.claims[0]
    assert result.citations.cited == ("d1", "d2", "d3")
    assert result.citations.recall == 0
    assert any("first 3 citations" in p for p in result.problems)
    assert result.best_source.passages[0].doc_id == "d4"


def test_problems_name_needless_and_missing_citations():
    report = checker().check("Alpha beta [1][2]. Delta.", DOCS)
    assert report.claims[0].problems == ("cites [2] needlessly: the other citations already support it",)
    assert report.claims[1].problems == ("no citation", "supported by [4], which it does not cite")


def test_supported_by_the_cited_evidence_carries_provenance():
    report = checker().check("Alpha beta [3].", DOCS)
    support = report.claims[0].support
    assert support.passages[0].doc_id == "d3"
    assert support.passages[0].text == DOCS[2].text
    assert support.verdict.verifier == "lexical@1" and support.verdict.label == "supported"


def test_verifier_work_is_batched_and_deduplicated_across_answers():
    verifier = CountingVerifier()
    requests = [("Alpha gamma [1][2][4].", DOCS), ("Alpha gamma [1][2][4].", DOCS), ("Gamma [2].", DOCS)]
    from citeline.pipeline.check import CheckRequest
    from citeline.core.types import Answer

    reports = checker(verifier).check_many([CheckRequest(Answer(a), tuple(d)) for a, d in requests])
    assert len(reports) == 3
    assert len(verifier.calls) == 2  # one batch per ALCE round, whatever the number of answers
    flat = [pair for call in verifier.calls for pair in call]
    assert len(flat) == len(set(flat))


def test_titles_are_part_of_the_evidence_as_in_alce():
    assert evidence_text([Document("a", "text", "Title")]) == "Title: Title\ntext"
    assert evidence_text([Document("a", "one"), Document("b", "two")]) == "one\ntwo"


def test_no_source_check_skips_support_rate():
    report = checker(check_every_source=False).check("Alpha beta [1].", DOCS)
    assert "support_rate" not in report.metrics and report.claims[0].best_source is None


def test_a_wrong_number_is_explained_in_the_claims_problems():
    from citeline.verifiers.numeric import NumericVerifier

    table = "| | 2022 | 2021 |\n| Return on assets | 11.9% | 10.2% |"
    checker = CitationChecker(NumericVerifier(LexicalVerifier()), ClaimSplitter(RegexSentenceSplitter()))
    report = checker.check("Return on assets was 12.4% in 2022 [1].", [Document("t", table)])
    problems = report.claims[0].problems
    assert report.claims[0].support.verdict.label == "not_supported"
    assert "claims 12.4%; the evidence gives 11.9% (row 'Return on assets', 2022)" in problems
    assert report.to_dict()["claims"][0]["support"]["verdict"]["reasons"]  # kept in the JSON report


def test_the_claim_table_shows_whole_claims():
    from citeline.pipeline.render import report_table

    long_claim = ("The tower that was designed by the engineering company of Gustave Eiffel and built for the "
                  "1889 World's Fair stands in Berlin [1].")
    report = checker(LexicalVerifier()).check(long_claim, [Document("d", "The tower stands in Paris.")])
    assert "stands in Berlin" in report_table(report)
