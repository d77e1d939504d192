import pytest

from citeline.pipeline.rarr import (AttributionScorer, best_cover, coverage, edit_ratio, f1_ap, levenshtein,
                                    preservation)
from citeline.verifiers.lexical import LexicalVerifier


@pytest.mark.parametrize("a, b, distance", [
    ("", "", 0), ("abc", "", 3), ("", "ab", 2), ("kitten", "sitting", 3), ("flaw", "lawn", 2),
    ("same", "same", 0), ("abc", "acb", 2),
])
def test_levenshtein_hand_computed(a, b, distance):
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_preservation_is_one_minus_edit_ratio_floored_at_zero():
    assert preservation("kitten", "sitting") == pytest.approx(1 - 3 / 6)
    assert preservation("abc", "abc") == 1.0
    assert preservation("ab", "xyzuvw") == 0.0  # Lev 6 > |x| 2: floored
    assert edit_ratio("ab", "xyzuvw") == 3.0


def test_f1_ap_is_the_harmonic_mean():
    assert f1_ap(1.0, 0.5) == pytest.approx(2 * 0.5 / 1.5)
    assert f1_ap(0.0, 0.0) == 0.0
    assert f1_ap(0.0, 1.0) == 0.0


def test_attribution_counts_supported_claims():
    scorer = AttributionScorer(LexicalVerifier(0.75))
    text = "Paris is the capital of France. Berlin hosts the Louvre museum."
    evidence = ["Paris is the capital and largest city of France.", "The Louvre is a museum in Paris."]
    assert scorer.supported(text, evidence) == [True, False]
    assert scorer.score(text, evidence) == 0.5
    assert scorer.score(text, []) == 0.0


def test_attribution_accepts_a_claim_supported_by_two_snippets_together():
    scorer = AttributionScorer(LexicalVerifier(1.0))
    claim = "Marie Curie won physics and chemistry prizes."
    assert scorer.supported(claim, ["Marie Curie won physics prizes.", "She won chemistry prizes."]) == [True]
    assert scorer.supported(claim, ["Marie Curie won physics prizes."]) == [False]


def test_coverage_hand_computed():
    scores = [[0.9, 0.1, 0.0],   # question 0
              [0.2, 0.8, 0.0],   # question 1
              [0.1, 0.1, 0.7]]   # question 2
    assert coverage(scores, [0]) == pytest.approx(0.9 + 0.2 + 0.1)
    assert coverage(scores, [0, 1]) == pytest.approx(0.9 + 0.8 + 0.1)
    assert coverage(scores, []) == 0.0


def test_best_cover_picks_the_set_that_covers_every_question():
    scores = [[0.9, 0.85, 0.0],
              [0.9, 0.85, 0.0],
              [0.0, 0.3, 0.6]]
    # alone, snippet 1 scores best (0.85 + 0.85 + 0.3 = 2.0 > 1.8 > 0.6);
    # two snippets: {0, 2} = 0.9 + 0.9 + 0.6 = 2.4 beats {1, 2} = 2.3 and {0, 1} = 2.1
    assert best_cover(scores, 1) == [1]
    assert best_cover(scores, 2) == [0, 2]


def test_best_cover_prefers_fewer_snippets_when_more_add_nothing():
    scores = [[0.9, 0.5, 0.4], [0.8, 0.2, 0.1]]
    assert best_cover(scores, 5) == [0]
    assert best_cover([], 5) == []
    assert best_cover([[0.5, 0.6]], 0) == []


def test_best_cover_greedy_path_on_many_snippets(monkeypatch):
    from citeline.pipeline.rarr import report
    monkeypatch.setattr(report, "EXHAUSTIVE_LIMIT", 1)
    scores = [[0.9, 0.85, 0.0], [0.9, 0.85, 0.0], [0.0, 0.3, 0.6]]
    # greedy takes the best single snippet (1) first, then the best addition (2): 2.3, not 2.4
    assert best_cover(scores, 2) == [1, 2]
