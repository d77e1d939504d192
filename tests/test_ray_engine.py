"""``citeline eval --engine ray``: a real local Ray cluster (2 CPUs, started once for the module),
actor pools holding the verifier, and the same bytes in results.jsonl as the local engine."""

import json
import random

import pytest

from citeline.pipeline.cli import main
from tests.conftest import REPO

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'citeline[ray]')")

FAST = ["--verifier", "lexical", "--splitter", "regex", "--no-progress", "--quiet", "--batch-size", "4"]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def cluster():
    """One local Ray for every test here (RayEngine uses a cluster already running, and leaves it)."""
    import logging

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """The examples (good, bad and borderline records) and 30 generated ones: 76 lines."""
    rng = random.Random(7)
    facts = [("Paris", "France"), ("Berlin", "Germany"), ("Rome", "Italy"), ("Madrid", "Spain"), ("Lisbon", "Portugal")]
    lines = [(EXAMPLES / name).read_bytes() for name in ("answers.jsonl", "bad_records.jsonl", "obvious_cases.jsonl")]
    for number in range(30):
        city, country = rng.choice(facts)
        other = rng.choice(facts)[1]
        record = {"id": f"gen-{number}", "answer": f"{city} is the capital of {rng.choice([country, other])} "
                                                   f"[{rng.randint(1, 3)}]. It is a city [1].",
                  "sources": [f"{city} is the capital of {country}.", f"{city} is a large city.", "Unrelated text."]}
        lines.append(json.dumps(record).encode() + b"\n")
    path = tmp_path_factory.mktemp("ray-input") / "answers.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def summary_of(out):
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("seconds")
    return summary


def test_ray_gives_the_local_engines_bytes(cluster, answers, tmp_path):
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert main(["eval", str(answers), "--out", str(local), *FAST]) == 1
    assert main(["eval", str(answers), "--out", str(on_ray), "--engine", "ray", "--workers", "2", *FAST]) == 1
    assert (on_ray / "results.jsonl").read_bytes() == (local / "results.jsonl").read_bytes()
    assert summary_of(on_ray) == summary_of(local)
    assert summary_of(local)["records"] == 76 and summary_of(local)["failed"] > 0


def test_resume_across_engines(cluster, answers, tmp_path):
    whole, mixed = tmp_path / "whole", tmp_path / "mixed"
    main(["eval", str(answers), "--out", str(whole), *FAST])
    main(["eval", str(answers), "--out", str(mixed), "--engine", "ray", "--limit", "21", *FAST])  # "interrupted"
    assert len((mixed / "results.jsonl").read_text().splitlines()) == 21
    main(["eval", str(answers), "--out", str(mixed), "--resume", "--limit", "20", *FAST])  # local goes on
    main(["eval", str(answers), "--out", str(mixed), "--resume", "--engine", "ray", *FAST])  # Ray finishes
    assert (mixed / "results.jsonl").read_bytes() == (whole / "results.jsonl").read_bytes()
    assert summary_of(mixed)["records_this_run"] == 76 - 41


def test_a_model_that_cannot_load_stops_the_run(cluster, answers, tmp_path, capsys):
    code = main(["eval", str(answers), "--out", str(tmp_path / "bad"), "--engine", "ray", "--workers", "1",
                 "--verifier", str(tmp_path / "no-such-model"), "--splitter", "regex", "--no-progress"])
    assert code == 3
    err = capsys.readouterr().err
    assert "cannot load verifier model" in err and "--resume" in err and "Traceback" not in err


def test_engine_flags_are_checked(tmp_path, capsys):
    assert main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(tmp_path), "--workers", "2"]) == 2
    assert main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(tmp_path), "--engine", "ray",
                 "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
