"""The verifier's training data (label mapping, balance, the dev split) and one tiny end-to-end
training run: train, calibrate, export, load as a verifier."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from citeline.verifiers.training.attribution_config import TrainConfig
from citeline.verifiers.training.attribution_data import (TrainPair, balanced_sample, load_source,
                                                           split_attributionbench_dev)


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def nli_root(tmp_path: Path) -> Path:
    nli = tmp_path / "nli"
    _write(nli / "fever_rte/dev.jsonl", [{"input0": "e", "input1": "c", "label": label}
                                         for label in ("entailment", "neutral", "contradiction")])
    _write(nli / "factcheck_gpt/claim_evidence_stance.jsonl", [
        {"evidence": "e", "claim": "c", "stance": s} for s in ("completely-support", "partially-support", "refute")])
    _write(nli / "wice/claim_dev.jsonl", [{"evidence": ["a", "b"], "claim": "c", "label": "supported"}])
    _write(nli / "wice/claim_test.jsonl", [{"evidence": ["a"], "claim": "c", "label": "partially_supported"}])
    _write(nli / "summedits/summedits_news.jsonl", [{"doc": "d", "summary": "s", "label": v} for v in (1, 0)])
    _write(nli / "climate_fever/all.jsonl", [{"claim": "c", "evidences": [
        {"evidence": "e1", "evidence_label": "SUPPORTS"}, {"evidence": "e2", "evidence_label": "NOT_ENOUGH_INFO"},
        {"evidence": "e3", "evidence_label": "REFUTES"}]}])
    for system in ("dodeca", "memnet"):
        for kind in ("consistent", "inconsistent"):
            _write(nli / f"q2/{system}_{kind}.jsonl", [{"knowledge": "k", "response": kind}])
    _write(nli / "curriculum_nli/drop/train.jsonl", [{"premise": "p", "hypothesis": "h", "gold_label": g}
                                                    for g in ("entailment", "neutral", "contradiction")])
    return tmp_path


@pytest.mark.parametrize("source, labels", [
    ("fever", [1, 0, 0]),  # neutral and contradiction are both "not supported"
    ("factcheck_gpt", [1, 0, 0]),  # partial support leaves part of the claim unsupported
    ("wice", [1, 0]),
    ("summedits", [1, 0]),
    ("climate_fever", [1, 0, 0]),
    ("q2", [1, 0, 1, 0]),
    ("curriculum:drop", [1, 0, 0]),
])
def test_each_source_maps_its_labels_to_supported_or_not(nli_root, source, labels):
    pairs = load_source(source, nli_root)
    assert [p.label for p in pairs] == labels
    assert all(p.evidence and p.claim and p.source == source for p in pairs)


def test_wice_evidence_sentences_are_joined(nli_root):
    assert load_source("wice", nli_root)[0].evidence == "a b"


def test_an_unknown_source_names_the_known_ones(nli_root):
    with pytest.raises(ValueError, match="unknown training source 'snli'.*fever"):
        load_source("snli", nli_root)


def test_balanced_sample_takes_half_of_each_label_where_it_can():
    pairs = [TrainPair("e", f"c{i}", int(i < 30), "s") for i in range(100)]  # 30 supported, 70 not
    sample = balanced_sample(pairs, 40, random.Random(0))
    assert sum(p.label for p in sample) == 20 and len(sample) == 40
    short = balanced_sample(pairs, 80, random.Random(0))  # only 30 supported: the rest are negatives
    assert sum(p.label for p in short) == 30 and len(short) == 80
    assert balanced_sample(pairs, 40, random.Random(0)) == sample


class _Row:
    def __init__(self, id: str, src_dataset: str, attributable: bool, question: str = "q") -> None:
        self.id, self.src_dataset, self.attributable, self.question = id, src_dataset, attributable, question


def test_the_dev_split_holds_out_whole_questions_per_dataset_reproducibly():
    rows = [_Row(f"{d}-{q}-{i}", d, i % 2 == 0, question=f"q{q}") for d in ("A", "B") for q in range(10)
            for i in range(1 + q % 3)]
    train, held_out = split_attributionbench_dev(rows, 0.3, seed=13)
    assert {r.id for r in train}.isdisjoint(r.id for r in held_out)
    assert len(train) + len(held_out) == len(rows)
    assert {(r.src_dataset, r.question) for r in train}.isdisjoint((r.src_dataset, r.question) for r in held_out)
    for dataset in ("A", "B"):
        share = sum(r.src_dataset == dataset for r in held_out) / sum(r.src_dataset == dataset for r in rows)
        assert 0.2 <= share <= 0.4
    again = split_attributionbench_dev(list(reversed(rows)), 0.3, seed=13)[1]  # input order does not matter
    assert sorted(r.id for r in again) == sorted(r.id for r in held_out)


def test_config_rejects_unknown_keys_and_objectives(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"seed": 1, "learning_rat": 1e-5}))
    with pytest.raises(ValueError, match="learning_rat"):
        TrainConfig.load(path)
    path.write_text(json.dumps({"objective": "contrastive"}))
    with pytest.raises(ValueError, match="contrastive.*token_alignment"):
        TrainConfig.load(path)


@pytest.mark.parametrize("features", [["cross_encoder_logit"], ["token_recal"]])
def test_config_rejects_calibrator_features_the_objective_lacks(tmp_path, features):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"objective": "calibrator", "calibrator_features": features}))
    with pytest.raises(ValueError, match=f"config.json: calibrator_features.*{features[0]}.*token_recall"):
        TrainConfig.load(path)
    assert TrainConfig(objective="cross_encoder", calibrator_features=["cross_encoder_logit"])


def _examples(datasets: dict[str, bool]) -> tuple[list[_Row], list[list[float]]]:
    """Ten rows per dataset, one feature equal to the label (or, where False, to its opposite)."""
    examples, rows = [], []
    for name, agrees in datasets.items():
        for i in range(10):
            examples.append(_Row(f"{name}-{i}", name, i % 2 == 0, question=f"q{i}"))
            rows.append([float((i % 2 == 0) == agrees)])
    return examples, rows


def test_leave_one_dataset_out_scores_each_dataset_with_a_calibrator_fitted_on_the_others():
    from citeline.verifiers.training.attribution_calibration import leave_one_dataset_out

    assert leave_one_dataset_out(*_examples({"A": True, "B": True, "C": True})) == {
        "A": 100.0, "B": 100.0, "C": 100.0, "mean": 100.0}
    # B's feature means the opposite: fitted on A and C, every B row is predicted wrong (macro-F1 0);
    # fitted on B and one agreeing set, the fit is a coin toss and predicts one class (F1 33.3).
    scores = leave_one_dataset_out(*_examples({"A": True, "B": False, "C": True}))
    assert scores["B"] == 0.0 and scores["A"] == scores["C"] == pytest.approx(100 / 3)
    assert leave_one_dataset_out(*_examples({"A": True})) == {}


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["calibrator", "cross_encoder", "token_alignment"])
def test_train_calibrate_export_and_load(nli_root, tmp_path, objective):
    """A tiny model, a few steps: every stage runs and the exported folder is a working verifier."""
    pytest.importorskip("sklearn")
    from tests.test_cross_encoder import _tiny_model

    from citeline.verifiers.calibrated import CalibratedVerifier
    from citeline.verifiers.default import load_verifier
    from citeline.verifiers.training.attribution_calibration import main

    words = ["paris capital france", "berlin germany city", "river seine population"]
    rows = [{"id": f"{d}-{i}", "src_dataset": d, "question": f"what {i // 4}", "claim": words[i % 3],
             "references": [words[i % 3] if i % 2 == 0 else words[(i + 1) % 3]],
             "attribution_label": "attributable" if i % 2 == 0 else "not attributable"}
            for d in ("ExpertQA", "Stanford-GenSearch", "AttributedQA", "LFQA") for i in range(40)]
    _write(nli_root / "attributionbench/dev_all_subset_balanced.jsonl", rows)
    (tmp_path / "base").mkdir()
    config = TrainConfig(objective=objective, base_model=str(_tiny_model(tmp_path / "base", {0: "supported"})),
                         output_dir=str(tmp_path / "run"), data_dir=str(nli_root), sources={"fever": 3},
                         attributionbench_repeats=1, max_length=32, batch_size=8, eval_every=4, bf16=False,
                         num_threads=1,
                         calibrator_features=["token_recall", "number_overlap"] if objective == "calibrator" else None)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config.__dict__))

    assert main(str(config_path), progress=False, export_to=str(tmp_path / "shipped")) == 0
    calibration = json.loads((tmp_path / "run/calibration.json").read_text())
    assert calibration["held_out_stock_embedding"]["rows"] == 48  # whole questions: 3 of 10 per dataset
    calibrator = json.loads((tmp_path / "shipped/calibrator.json").read_text())
    settings = json.loads((tmp_path / "shipped/citeline.json").read_text())
    weights = (tmp_path / "shipped/model.safetensors").is_file()
    if objective == "calibrator":  # no network: fitted on all of dev, over the stock embedding model
        assert not (tmp_path / "run/train_log.json").exists() and "held_out" not in calibration
        assert calibrator["notes"].startswith("fitted on 160 ") and not weights
        assert calibrator["features"] == calibration["shipped"]["features"] == ["token_recall", "number_overlap"]
        assert set(calibration["shipped"]["leave_one_dataset_out"]) == {"ExpertQA", "Stanford-GenSearch",
                                                                         "AttributedQA", "LFQA", "mean"}
    else:
        log = json.loads((tmp_path / "run/train_log.json").read_text())
        # 70% of 160 dev rows train; the fever claims ("c": unknown to the tiny vocabulary) have no
        # content token to align, so token alignment leaves them out.
        assert log["pairs"] == (3 if objective == "cross_encoder" else 0) + 112 and log["history"]
        assert calibrator["notes"].startswith("fitted on 48 ") and weights
    assert ("cross_encoder_logit" in calibrator["features"]) == (objective == "cross_encoder")
    assert (settings["embedding_model"] == ".") == (objective == "token_alignment")  # the tuned model ships here
    verifier = load_verifier(str(tmp_path / "shipped"))
    assert isinstance(verifier, CalibratedVerifier)
    verdicts = verifier.verify([("paris capital france", "what\nparis capital france"), ("", "what\nparis")])
    assert 0.0 <= verdicts[0].probability <= 1.0 and verdicts[1].probability == 0.0


def _load_objective(path: Path) -> str:
    """The config's objective, loaded as the command loads it: "nli" is the three-class recipe's format."""
    from citeline.verifiers.training.recipe import NLIRecipe

    if json.loads(path.read_text(encoding="utf-8")).get("objective") == "nli":
        NLIRecipe.load(path)
        return "nli"
    return TrainConfig.load(path).objective


def test_the_shipped_configs_load():
    folder = Path(__file__).resolve().parents[1] / "verifiers/configs"
    objectives = {path.name: _load_objective(path) for path in folder.glob("*.json")}
    assert objectives == {"citeline_attr.json": "calibrator", "citeline_nli.json": "nli", "citeline_nli_gpu.json": "nli",
                          "citeline_nli_continued.json": "nli", "minilm_cross_encoder.json": "cross_encoder",
                          "minilm_token_alignment.json": "token_alignment"}