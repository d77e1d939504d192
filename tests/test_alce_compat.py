"""--alce-compat reproduces ALCE's eval.py (compute_autoais) quirk by quirk; the default keeps
citeline's parsing. Each test shows both on the same answer."""

import json
import re

import pytest

from citeline.core.claims import ClaimSplitter
from citeline.core.sentences import RegexSentenceSplitter
from citeline.core.types import Document, Verdict
from citeline.pipeline.alce import AlceChecker, alce_output, remove_citations
from citeline.pipeline.check import CitationChecker
from citeline.pipeline.cli import main

pytest.importorskip("nltk", reason="--alce-compat needs the alce extra: pip install 'citeline[alce]'")
pytest.importorskip("punkt", reason="--alce-compat needs the alce extra: pip install 'citeline[alce]'")


class WordsVerifier:
    """A judge for metric arithmetic: supported iff every word of the claim is in the evidence
    (punctuation ignored, "title" and the passage layout too). It keeps every pair it is asked."""

    name = "words"

    def __init__(self):
        self.asked = []

    def verify(self, pairs):
        self.asked += pairs
        return [Verdict("supported" if self._words(c) <= self._words(e) else "not_supported",
                        1.0 if self._words(c) <= self._words(e) else 0.0, self.name) for e, c in pairs]

    @staticmethod
    def _words(text):
        return set(re.findall(r"[a-z0-9]+", text.lower())) - {"title"}


DOCS = [Document("1", "alpha"), Document("2", "beta"), Document("3", "gamma"), Document("4", "delta"),
        Document("5", "epsilon")]


def both(answer, documents=DOCS):
    """(citeline's report, ALCE's report) of one answer."""
    default = CitationChecker(WordsVerifier(), ClaimSplitter(RegexSentenceSplitter()), check_every_source=False)
    compat = AlceChecker(WordsVerifier())
    return default.check(answer, documents), compat.check(answer, documents)


def exact_spans(report):
    for result in report.claims:
        assert report.answer.text[result.claim.start:result.claim.end] == result.claim.text
        for marker in result.claim.markers:
            assert report.answer.text[marker.start:marker.end] == marker.raw


def test_a_comma_list_cites_its_first_number_and_leaves_the_rest_in_the_claim():
    default, compat = both("Alpha epsilon [1, 5].")
    assert default.claims[0].citations.cited == ("1", "5") and default.metrics["citation_recall"] == 1
    claim = compat.claims[0]
    assert claim.claim.check_text == "Alpha epsilon, 5."  # ALCE's remove_citations leaves ", 5"
    assert claim.citations.cited == ("1",) and compat.metrics["citation_recall"] == 0
    exact_spans(compat)


def test_a_repeated_citation_is_kept_twice():
    default, compat = both("Alpha beta [1][1][2].")
    assert default.claims[0].citations.cited == ("1", "2")
    assert default.claims[0].citations.precise == ("1", "2") and default.metrics["citation_precision"] == 1
    checked = compat.claims[0].citations
    assert checked.cited == ("1", "1", "2") and checked.recall == 1
    # each copy of [1]: alone it fails, and the rest without that copy ([1][2]) supports the claim
    assert checked.irrelevant == ("1", "1") and checked.precise == ("2",)
    assert compat.metrics["citation_precision"] == pytest.approx(1 / 3)


def test_a_repeat_repeats_the_passage_and_every_passage_has_a_title_line():
    verifier = WordsVerifier()
    AlceChecker(verifier).check("Alpha [1][1].", [Document("1", "alpha"), Document("2", "beta", title="B")])
    assert verifier.asked[0] == ("Title: \nalpha\nTitle: \nalpha", "Alpha.")


def test_precision_drops_the_first_equal_index_as_eval_py_does():
    # [0] is index -1 and [3] index 2: the same source, but not equal for eval.py's list.remove,
    # so the rest of [3] keeps [0] first ("gamma" then "alpha")
    verifier = WordsVerifier()
    result = AlceChecker(verifier).check("Alpha gamma [0][1][3].", DOCS[:3]).claims[0].citations
    assert result.cited == ("3", "1", "3") and result.irrelevant == ("3", "3") and result.precise == ("1",)
    assert ("Title: \ngamma\nTitle: \nalpha", "Alpha gamma.") in verifier.asked


def test_a_repeated_citation_fills_the_three_checked():
    default, compat = both("Alpha delta [1][1][1][4].")
    assert default.claims[0].citations.cited == ("1", "4") and default.metrics["citation_recall"] == 1
    assert compat.claims[0].citations.cited == ("1", "1", "1") and compat.metrics["citation_recall"] == 0
    assert "only the first 3 citations were checked (ALCE's limit)" in compat.claims[0].problems


def test_zero_is_the_last_source():
    default, compat = both("Epsilon [0].")
    assert default.claims[0].claim.invalid_citations == ("0",) and default.metrics["citation_recall"] == 0
    assert compat.claims[0].citations.cited == ("5",) and compat.metrics["citation_recall"] == 1
    assert compat.metrics["invalid_citations"] == 0
    assert "[0] read as the last source, [5] (ALCE)" in compat.claims[0].problems
    without_sources = AlceChecker(WordsVerifier()).check("Epsilon [0].", [])  # eval.py raises IndexError
    assert without_sources.claims[0].claim.invalid_citations == ("0",)


def test_a_labelled_citation_is_not_read():
    default, compat = both("Gamma [Source 3].")
    assert default.claims[0].citations.cited == ("3",) and default.metrics["citation_recall"] == 1
    claim = compat.claims[0]
    assert claim.claim.markers == () and claim.claim.check_text == "Gamma [Source 3."  # only "]" goes
    assert compat.metrics["citation_recall"] == 0 and compat.metrics["uncited_claims"] == 1


def test_a_range_cites_its_first_number():
    default, compat = both("Alpha beta gamma [1-3].")
    assert default.claims[0].citations.cited == ("1", "2", "3") and default.metrics["citation_recall"] == 1
    assert compat.claims[0].citations.cited == ("1",) and compat.claims[0].claim.check_text == "Alpha beta gamma-3."
    assert compat.metrics["citation_recall"] == 0


def test_only_the_first_line_is_scored():
    answer = "\n  Alpha [1].<|im_end|>\nDelta [1]. Zeta [9]."
    default, compat = both(answer)
    assert [r.claim.check_text for r in default.claims] == ["Alpha.<|im_end|>", "Delta.", "Zeta."]
    assert default.metrics["citation_recall"] == 0 and default.metrics["invalid_citations"] == 1
    assert [r.claim.check_text for r in compat.claims] == ["Alpha."]
    assert compat.metrics["citation_recall"] == 1 and compat.metrics["invalid_citations"] == 0
    exact_spans(compat)
    assert alce_output(answer)[0] == "Alpha [1]."


def test_a_citation_out_of_range_fails_the_sentence_even_after_the_third():
    default, compat = both("Alpha [1][2][3][9].")
    for report in (default, compat):
        assert report.claims[0].citations.recall == 0 and report.claims[0].claim.invalid_citations == ("9",)
        assert report.claims[0].citations.cited == ()  # not counted in precision's denominator


def test_a_marker_after_the_full_stop_belongs_to_the_next_sentence():
    default, compat = both("Alpha. [1] Beta [2].")
    assert [r.claim.source_ids for r in default.claims] == [("1",), ("2",)]
    assert [r.claim.check_text for r in compat.claims] == ["Alpha.", "Beta."]
    assert [r.citations.cited for r in compat.claims] == [(), ("1", "2")]
    assert compat.metrics["citation_recall"] == pytest.approx(1 / 2)


def test_precision_rules_on_a_hand_computed_answer():
    # 1: one supported citation, relevant. 2: joint support, [2] needless. 3: both needed.
    # 4: two citations that do not support it: both counted, none relevant. 5: no citation.
    answer = "Alpha [1]. Alpha [1][2]. Alpha beta [1][2]. Delta [1][2]. Gamma."
    default, compat = both(answer)
    for report in (default, compat):
        checks = [r.citations for r in report.claims]
        assert [c.recall for c in checks] == [1, 1, 1, 0, 0]
        assert [c.precise for c in checks] == [("1",), ("1",), ("1", "2"), (), ()]
        assert [c.irrelevant for c in checks] == [(), ("2",), (), (), ()]
        assert report.metrics["citation_recall"] == pytest.approx(3 / 5)
        assert report.metrics["citation_precision"] == pytest.approx(4 / 7)


def test_precision_is_zero_without_a_citation_and_an_empty_first_line_has_no_sentence():
    _, compat = both("Alpha. Beta.")
    assert compat.metrics["citation_precision"] == 0 and compat.metrics["citation_recall"] == 0
    assert AlceChecker(WordsVerifier()).check("<|im_end|>\nAlpha [1].", DOCS).claims == ()


def test_remove_citations_is_alces():
    assert remove_citations("A [1][2] b [3, 4] | c [Source 5].") == "A b, 4 c [Source 5."


def test_eval_pins_alce_compat_in_run_json_and_resume_refuses_the_other_mode(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"output": "Alpha [1, 2].\nBeta [2].", "docs": ["alpha", "beta"]}) + "\n")
    out = tmp_path / "run"
    args = ["eval", str(source), "--out", str(out), "--no-progress", "--verifier", "lexical"]
    assert main(args + ["--alce-compat"]) == 1
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["alce_compat"] is True and run["config"]["splitter"].startswith("nltk-punkt:english")
    row = json.loads((out / "results.jsonl").read_text())
    assert [c["claim"]["check_text"] for c in row["report"]["claims"]] == ["Alpha, 2."]
    assert main(args + ["--resume"]) == 2
    assert "alce_compat was True, now False" in capsys.readouterr().err
    assert main(args + ["--alce-compat", "--resume"]) == 1


def test_check_alce_compat(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("alpha")
    argv = ["check", "--answer", "Alpha [0].", "--source", str(tmp_path / "a.txt"), "--verifier", "lexical"]
    assert main(argv) == 1  # [0] is no source
    assert main(argv + ["--alce-compat"]) == 0  # eval.py reads [0] as the last source
    assert "[0] read as the last source" in capsys.readouterr().out
