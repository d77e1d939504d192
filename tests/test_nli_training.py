"""The entailment verifier's training: labels and loss, document splits, the data builder, resume
from a checkpoint, and the contrast-set scores. Models are tiny random BERTs built here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from citeline.evals.contrast import score_rows
from citeline.verifiers.training.dataset import DataConfig, _delete_sentence, _split_documents, read_pairs
from citeline.verifiers.training.sources import NLIPair
from tests.tiny_models import WORDS, tiny_bert

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from citeline.verifiers.training.nli_trainer import (  # noqa: E402
    NLITrainConfig,
    Trainer,
    label_targets,
    length_batches,
    nli_loss,
)

def test_binary_negatives_are_scored_as_neutral_or_contradiction():
    logits = torch.tensor([[2.0, 0.5, -1.0], [2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    log_p = torch.log_softmax(logits, dim=-1)
    targets = torch.tensor(label_targets(["entailment", "not_entailment", "contradiction"]))
    assert targets.tolist() == [0, -1, 2]
    expected = -(log_p[0, 0] + torch.logsumexp(log_p[1, 1:], dim=0) + log_p[2, 2]) / 3
    assert nli_loss(logits, targets).item() == pytest.approx(expected.item(), abs=1e-6)


def test_length_batches_cover_each_pair_once_and_repeat_with_the_seed():
    lengths = [random.Random(1).randint(5, 200) for _ in range(1000)]
    batches = length_batches(lengths, 32, random.Random(7))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert batches == length_batches(lengths, 32, random.Random(7))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 20  # similar lengths per batch: little padding


def test_held_out_documents_never_reach_training():
    pairs = [NLIPair(f"doc {d % 40}", f"claim {d}", "entailment", "fever", group=f"fever:{d % 40}")
             for d in range(200)]
    pairs += [NLIPair("doc 3", "same text in another set", "entailment", "docnli:fever", group="docnli:fever:x")]
    train, held = _split_documents(pairs, DataConfig(held_out_fraction=0.25), random.Random(0))
    assert len(held) > 0 and len(train) + len(held) == len(pairs)
    assert not {p.evidence for p in train} & {p.evidence for p in held}


def test_deleting_the_supporting_sentence_keeps_the_rest_or_refuses():
    evidence = "The tower is in Paris. It was completed in 1889. It is made of wrought iron and is tall."
    assert _delete_sentence(evidence, "It was completed in 1889.") == \
        "The tower is in Paris. It is made of wrought iron and is tall."
    assert _delete_sentence("Short one. It was completed in 1889.", "It was completed in 1889.") is None


def test_contrast_scores_are_per_edit_kind_over_balanced_pairs():
    rows = [{"pair_id": 1, "recipe": "original"}, {"pair_id": 1, "recipe": "negation"},
            {"pair_id": 2, "recipe": "original"}, {"pair_id": 2, "recipe": "negation"},
            {"pair_id": 2, "recipe": "number"}]
    kinds, accepted = score_rows(rows, [True, False, True, True, False])
    assert kinds["negation"]["pairs"] == 2 and kinds["number"]["pairs"] == 1
    assert kinds["number"]["macro_f1"] == 100.0
    assert kinds["negation"]["macro_f1"] == pytest.approx(100 * (0.8 + 2 / 3) / 2)  # one negation passed
    assert accepted == 100.0


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def tiny_run(tmp_path):
    """A data folder as dataset.build writes it, and a tiny three-class base model."""
    data = tmp_path / "data"
    data.mkdir()
    rng = random.Random(0)
    labels = ["entailment", "neutral", "contradiction", "not_entailment"]
    pairs = [NLIPair(" ".join(rng.choices(WORDS, k=rng.randint(5, 40))), " ".join(rng.choices(WORDS, k=6)),
                     labels[i % 4], "fever") for i in range(96)]
    _write_jsonl(data / "train.jsonl", [p.to_json() for p in pairs])
    _write_jsonl(data / "dev.jsonl", [p.to_json() for p in pairs[:16]])
    _write_jsonl(data / "contrast_dev.jsonl", [
        {"pair_id": i // 2, "slice": "calibration", "recipe": "negation" if i % 2 else "original",
         "evidence": "paris is the capital of france", "claim": "paris is not the capital" if i % 2 else "paris is capital",
         "supported": 1 - i % 2} for i in range(8)])
    base = tiny_bert(tmp_path / "base", ("entailment", "neutral", "contradiction"))
    return lambda out: NLITrainConfig(data_dir=str(data), output_dir=str(tmp_path / out), base_model=str(base),
                                      batch_size=8, max_length=48, eval_every=5, eval_pairs=16, epochs=1.0,
                                      checkpoint_minutes=0.0, num_threads=1)


def _final_weights(config: NLITrainConfig) -> dict:
    return torch.load(Path(config.output_dir) / "checkpoint" / "state.pt", weights_only=False)["model"]


def test_an_interrupted_run_resumes_to_the_same_weights(tiny_run):
    straight = tiny_run("straight")
    Trainer(straight, progress=False).run()
    interrupted = tiny_run("interrupted")
    Trainer(interrupted, progress=False).run(until_step=5)
    assert torch.load(Path(interrupted.output_dir) / "checkpoint" / "state.pt", weights_only=False)["step"] == 5
    Trainer(interrupted, progress=False).run()  # a new process would do the same: it reads the checkpoint
    a, b = _final_weights(straight), _final_weights(interrupted)
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(line) for line in (Path(interrupted.output_dir) / "train_log.jsonl").open()]
    assert any(e["event"] == "resumed" and e["step"] == 5 for e in log)
    assert (Path(straight.output_dir) / "model" / "config.json").is_file()  # the best evaluated model


def test_resuming_with_another_config_is_refused(tiny_run):
    config = tiny_run("run")
    Trainer(config, progress=False).run(until_step=2)
    config.learning_rate = 1e-3
    with pytest.raises(ValueError, match="learning_rate"):
        Trainer(config, progress=False).run()


def test_a_run_can_be_shortened_on_resume_and_ends_at_the_new_length(tiny_run):
    config = tiny_run("run")  # 96 pairs, batches of 8, one epoch: 12 steps
    Trainer(config, progress=False).run(until_step=3)
    config.epochs = 0.5
    Trainer(config, progress=False).run()
    log = [json.loads(line) for line in (Path(config.output_dir) / "train_log.jsonl").open()]
    assert any(e["event"] == "run resized" and e["epochs"] == [1.0, 0.5] for e in log)
    assert log[-1] == {**log[-1], "event": "done", "steps": 6}
    config.epochs = 0.25  # 3 steps: not beyond the checkpoint's 6
    with pytest.raises(ValueError, match="epochs"):
        Trainer(config, progress=False).run()


def test_a_trained_model_goes_on_from_start_step_and_is_scored_first(tiny_run):
    first = tiny_run("first")
    Trainer(first, progress=False).run(until_step=6)
    config = tiny_run("continued")  # the first run's model, trained on its first 6 of 12 batches
    config.base_model, config.start_step = str(Path(first.output_dir) / "model"), 6
    Trainer(config, progress=False).run()
    log = [json.loads(line) for line in (Path(config.output_dir) / "train_log.jsonl").open()]
    assert [e["step"] for e in log if e["event"] == "eval"] == [6, 10, 12]  # the base model is the one to beat
    assert log[-1] == {**log[-1], "event": "done", "steps": 12}
    config.start_step = 12
    with pytest.raises(ValueError, match="start_step 12 must be below the run's 12 steps"):
        Trainer(config, progress=False).run()


@pytest.mark.slow
def test_the_builder_makes_train_dev_and_contrast_files_from_disjoint_documents(tmp_path):
    root = tmp_path / "shared"
    (root / "nli/fever_rte").mkdir(parents=True)
    rows = []
    for i in range(60):
        year = 1850 + i
        evidence = (f"The bridge number {i} was built in {year} by Gustave Eiffel. It crosses the Seine in Paris. "
                    f"It is made of steel and stone.")
        rows += [{"input0": evidence, "input1": f"Bridge number {i} was built in {year}.", "label": "entailment"},
                 {"input0": evidence, "input1": "The bridge is in Berlin.", "label": "not_entailment"}]
    _write_jsonl(root / "nli/fever_rte/dev.jsonl", rows)
    config = DataConfig(output_dir=str(tmp_path / "out"), data_dir=str(root), sources={"fever": None},
                        held_out_fraction=0.3, evidence_sentences=50, hard_negatives=10, max_synthetic=1000)
    from citeline.verifiers.training.dataset import build

    out = build(config, progress=False)
    train, dev = read_pairs(out / "train.jsonl"), read_pairs(out / "dev.jsonl")
    assert not {p.evidence for p in train if p.recipe != "support_deleted"} & {p.evidence for p in dev}
    recipes = {p.recipe for p in train}
    assert {"original", "number", "evidence_sentence", "support_deleted", "hard_negative"} <= recipes
    contrast = [json.loads(line) for line in (out / "contrast_dev.jsonl").open()]
    assert {r["recipe"] for r in contrast} >= {"original", "number"}
    assert all(r["evidence"] in {p.evidence for p in dev} for r in contrast)
    edited = [r for r in contrast if r["recipe"] == "number"]
    assert all(r["supported"] == 0 and r["claim"] != r["evidence"] for r in edited)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["train"]["pairs"] == len(train)
