"""AttributionBench harness: metrics on hand-computed cases, row parsing, the data files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from citeline.evals import attributionbench as ab
from citeline.core.types import Verdict


def _example(dataset: str, gold: bool, references=("some evidence",), i: int = 0) -> ab.Example:
    return ab.Example(f"{dataset}-{i}", dataset, "who?", "a claim", tuple(references), gold)


def test_macro_f1_fp_fn_on_a_hand_computed_case():
    # gold 1 1 0 0, predicted 1 0 0 0: F1(attributable) = 2/3, F1(not) = 0.8, macro = 0.7333
    examples = [_example("LFQA", g, i=i) for i, g in enumerate([True, True, False, False])]
    result = ab.score_predictions(examples, [True, False, False, False])
    (lfqa,) = result.subsets
    assert lfqa.macro_f1 == pytest.approx(100 * (2 / 3 + 0.8) / 2)
    assert (lfqa.fp, lfqa.fn) == (0.0, 25.0)


def test_a_missing_prediction_counts_as_wrong():
    examples = [_example("ExpertQA", True, i=0), _example("ExpertQA", False, i=1)]
    result = ab.score_predictions(examples, [None, None])
    assert result.subsets[0].macro_f1 == 0.0
    assert (result.subsets[0].fp, result.subsets[0].fn) == (50.0, 50.0)
    assert result.failures == 2


def test_id_avg_is_the_unweighted_mean_over_the_id_datasets_only():
    examples = ([_example("ExpertQA", g, i=i) for i, g in enumerate([True, False] * 5)]
                + [_example("LFQA", g, i=i) for i, g in enumerate([True, False])]
                + [_example("HAGRID", g, i=i) for i, g in enumerate([True, False])])
    predictions = [True, False] * 5 + [True, True] + [False, True]
    result = ab.score_predictions(examples, predictions)
    scores = {s.src_dataset: s.macro_f1 for s in result.subsets}
    assert scores["ExpertQA"] == 100.0 and scores["LFQA"] == pytest.approx(100 * (2 / 3 + 0) / 2)
    assert result.id_avg == pytest.approx((scores["ExpertQA"] + scores["LFQA"]) / 2)
    assert [s.src_dataset for s in result.subsets] == ["ExpertQA", "LFQA", "HAGRID"]


def test_the_bootstrap_macro_f1_matches_sklearn_row_by_row():
    import numpy as np

    rng = np.random.default_rng(1)
    gold, pred = rng.integers(0, 2, size=(50, 7)), rng.integers(0, 2, size=(50, 7))
    gold[0], pred[0] = 1, 1  # one class absent from both: sklearn scores it 0
    expected = [ab.macro_f1(g, p) for g, p in zip(gold, pred)]
    assert ab._macro_f1_rows(gold, pred).tolist() == pytest.approx(expected)


def test_id_avg_interval_is_a_point_when_every_prediction_is_right_and_brackets_a_mixed_score():
    examples = [_example(d, g, i=i) for d in ("ExpertQA", "LFQA") for i, g in enumerate([True, False] * 20)]
    assert ab.id_avg_interval(examples, [e.attributable for e in examples]) == (100.0, 100.0)
    mixed = [e.attributable if i % 4 else not e.attributable for i, e in enumerate(examples)]
    low, high = ab.id_avg_interval(examples, mixed)
    assert low < ab.score_predictions(examples, mixed).id_avg < high
    assert ab.id_avg_interval(examples, mixed) == (low, high)  # seeded: the same interval every run


class _FixedVerifier:
    name = "fixed"

    def __init__(self, labels):
        self.labels = labels
        self.seen = []

    def verify(self, pairs):
        self.seen += pairs
        return [Verdict(label, 0.5, self.name) for label, _ in zip(self.labels, pairs)]


def test_predict_skips_rows_without_references_and_rejects_unknown_labels():
    examples = [_example("LFQA", True, references=()), _example("LFQA", True), _example("LFQA", False)]
    verifier = _FixedVerifier(["supported", "maybe"])
    assert ab.predict(verifier, examples) == [None, True, None]
    assert len(verifier.seen) == 2  # the row without references never reached the verifier


def test_rows_become_question_plus_claim_against_joined_references():
    row = {"id": "x", "src_dataset": "AttributedQA", "question": "who was king in 1756",
           "claim": "George II", "references": ["Title: George II\n\nKing.", " ", "Reigned 1727-1760."],
           "attribution_label": "attributable"}
    example = ab.example_from_row(row)
    assert example.pair == ("Title: George II\n\nKing.\n\nReigned 1727-1760.", "who was king in 1756\nGeorge II")
    with pytest.raises(ValueError, match="attribution_label 'yes'"):
        ab.example_from_row({**row, "attribution_label": "yes"})


def test_markdown_shows_our_rows_and_the_published_ones():
    examples = [_example("LFQA", g, i=i) for i, g in enumerate([True, False])]
    result = ab.score_predictions(examples, [True, False], "dev", "mine")
    text = ab.render_markdown([result], "dev")
    assert "| mine | 100.0 / 0.0 / 0.0 | 100.0 |" in text
    assert "published: fine-tuned GPT-3.5 (w/o CoT) (full ID test) | 83.9 | 77.7 |" in text


def test_unknown_split_is_named_in_the_error():
    with pytest.raises(ValueError, match="'test'"):
        ab.load_examples("test")


def test_the_bench_command_is_registered_without_importing_torch():
    code = ("import sys; from citeline.pipeline.cli import build_parser; p = build_parser(); "
            "p.parse_args(['bench', 'attributionbench', '--split', 'dev']); "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'sklearn')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_shared_files_have_the_documented_rows(shared_data):
    folder = shared_data / "attributionbench"
    dev = ab.load_examples("dev", folder)
    sample = ab.load_examples("id-sample", folder)
    assert len(dev) == 1198 and len(sample) == 500
    counts = {d: sum(e.src_dataset == d for e in sample) for d in ab.ID_DATASETS}
    assert counts == {"ExpertQA": 190, "Stanford-GenSearch": 186, "AttributedQA": 72, "LFQA": 52}
    assert sum(e.attributable for e in dev) == 599


def test_lexical_baseline_on_dev_end_to_end(shared_data, tmp_path):
    from citeline.pipeline.cli import main

    out = tmp_path / "lexical.json"
    assert main(["bench", "attributionbench", "--split", "dev", "--verifier", "lexical",
                 "--data-dir", str(shared_data / "attributionbench"), "--out", str(out)]) == 0
    (result,) = json.loads(out.read_text())["results"]
    assert result["verifier"] == "lexical@0.55"
    assert result["id_avg"] == pytest.approx(66.9, abs=0.05)  # the tuned threshold's dev score
