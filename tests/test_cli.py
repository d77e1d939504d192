import json
import os
import subprocess
import sys

import pytest

from citeline.pipeline import batch
from citeline.pipeline.cli import build_parser, main
from tests.conftest import REPO

FAST = ["--verifier", "lexical", "--splitter", "regex"]
EXAMPLES = REPO / "examples"


def results(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


RECORDS = [{"id": f"r{i}", "question": "q", "answer": "Alpha beta [1]. Gamma [2].",
            "sources": ["alpha beta", {"id": "g", "title": "G", "text": "gamma"}]} for i in range(7)]


def test_help_does_not_import_torch_or_spacy():
    code = ("import sys\nfrom citeline.pipeline.cli import main\n"
            "for argv in (['--help'], ['check', '--help'], ['eval', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('torch', 'spacy', 'transformers', 'numpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in output


def test_every_command_has_examples_in_its_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert "example" in sub.format_help().lower(), f"citeline {name} --help shows no example"


def test_eval_on_the_bundled_example(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(out), "--no-progress", *FAST]) == 1  # findings
    printed = capsys.readouterr().out
    assert "citation recall (ALCE)" in printed
    rows = results(out)
    assert len(rows) == 5 and all(r["status"] == "ok" for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checked"] == 5 and 0 < summary["citation_recall"] < 1


def test_every_bad_record_is_reported_with_its_line_and_the_run_goes_on(tmp_path, capsys):
    out = tmp_path / "bad"
    code = main(["eval", str(EXAMPLES / "bad_records.jsonl"), "--out", str(out), "--no-progress", *FAST])
    assert code == 1
    printed = capsys.readouterr().out
    by_line = {r["line"]: r for r in results(out)}
    assert by_line[1]["status"] == "ok"
    assert "invalid JSON" in by_line[2]["error"]
    assert "missing field 'answer'" in by_line[3]["error"]
    assert "'answer' is empty" in by_line[4]["error"]
    assert by_line[5]["status"] == "invalid_citations"
    assert "not UTF-8" in by_line[6]["error"]
    for line in (2, 3, 4, 5, 6):
        assert f"line {line}:" in printed


@pytest.mark.parametrize("record, reason", [
    ([1, 2], "must be a JSON object"),
    ({"answer": "x", "sources": []}, "'sources' is empty"),
    ({"answer": "x", "sources": "text"}, "'sources' must be a list"),
    ({"answer": 3, "sources": ["a"]}, "'answer' must be a string"),
    ({"answer": "x", "sources": [{"title": "no text"}]}, "source 1 has no 'text'"),
    ({"answer": "x", "sources": [{"id": "a", "text": "1"}, {"id": "a", "text": "2"}]}, "unique"),
])
def test_record_validation_reasons(tmp_path, record, reason):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert main(["eval", str(path), "--out", str(tmp_path / "o"), "--no-progress", *FAST]) == 1
    assert reason in results(tmp_path / "o")[0]["error"]


def test_resume_after_an_interrupted_run_finishes_every_record_once(tmp_path, monkeypatch):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    out = tmp_path / "run"
    real = batch.EvalJob.process
    calls = {"n": 0}

    def crash_on_second_batch(self, requests):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, requests)

    monkeypatch.setattr(batch.EvalJob, "process", crash_on_second_batch)
    args = ["eval", str(source), "--out", str(out), "--no-progress", "--batch-size", "3", *FAST]
    assert main(args) == 130
    assert [r["line"] for r in results(out)] == [1, 2, 3]  # the finished batch was kept
    monkeypatch.setattr(batch.EvalJob, "process", real)
    assert main(args) == 2  # refuses to clobber the results without --resume
    assert main(args + ["--resume"]) == 0
    assert sorted(r["line"] for r in results(out)) == list(range(1, 8))
    assert json.loads((out / "summary.json").read_text())["records"] == 7


def test_resume_drops_a_half_written_line(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:3])
    out = tmp_path / "run"
    args = ["eval", str(source), "--out", str(out), "--no-progress", *FAST]
    assert main(args + ["--limit", "2"]) == 0
    with (out / "results.jsonl").open("a") as sink:
        sink.write('{"line": 3, "id": "r2", "sta')  # the crash hit mid-write
    assert main(args + ["--resume"]) == 0
    assert sorted(r["line"] for r in results(out)) == [1, 2, 3]


def test_resume_refuses_another_input(tmp_path):
    out = tmp_path / "run"
    first = write_jsonl(tmp_path / "a.jsonl", RECORDS[:2])
    second = write_jsonl(tmp_path / "b.jsonl", RECORDS[2:4])
    assert main(["eval", str(first), "--out", str(out), "--no-progress", *FAST]) == 0
    assert main(["eval", str(second), "--out", str(out), "--resume", "--no-progress", *FAST]) == 2
    assert main(["eval", str(second), "--out", str(out), "--overwrite", "--no-progress", *FAST]) == 0
    assert [r["id"] for r in results(out)] == ["r2", "r3"]


def test_a_record_that_breaks_the_checker_fails_alone(tmp_path, monkeypatch):
    from citeline.pipeline.check import CitationChecker

    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:3])
    real = CitationChecker.check_many

    def fragile(self, requests):
        if any(r.id == "r1" for r in requests):
            raise RuntimeError("boom")
        return real(self, requests)

    monkeypatch.setattr(CitationChecker, "check_many", fragile)
    assert main(["eval", str(source), "--out", str(tmp_path / "o"), "--no-progress", *FAST]) == 1
    statuses = {r["id"] or r["line"]: r["status"] for r in results(tmp_path / "o")}
    assert statuses == {"r0": "ok", "r1": "error", "r2": "ok"}


def test_eval_names_a_missing_input(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "no such input file" in capsys.readouterr().err


def test_check_with_source_files(tmp_path, capsys):
    (tmp_path / "paris.txt").write_text("Paris is the capital of France.")
    (tmp_path / "berlin.txt").write_text("Berlin is the capital of Germany.")
    argv = ["check", "--answer", "Paris is the capital of France [1]. Berlin is in Germany [paris].",
            "--source", str(tmp_path / "paris.txt"), "--source", str(tmp_path / "berlin.txt"),
            "--out", str(tmp_path / "report.json"), *FAST]
    assert main(argv) == 1  # the second claim cites the wrong source
    printed = capsys.readouterr().out
    assert "supported by [2], which it does not cite" in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["citations"]["recall"] for c in report["claims"]] == [1.0, 0.0]


def test_check_record_json_output(tmp_path, capsys):
    record = tmp_path / "record.json"
    record.write_text(json.dumps(RECORDS[0]))
    assert main(["check", "--record", str(record), "--json", *FAST]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["citation_recall"] == 1.0


@pytest.mark.parametrize("argv, message", [
    (["check", "--answer", "  ", "--source", "x"], "'answer' is empty"),
    (["check", "--answer", "x [1]."], "no sources"),
    (["check", "--answer", "x", "--source", "/no/such/file.txt"], "No such file"),
])
def test_check_bad_input(argv, message, capsys):
    assert main(argv + FAST) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_check_with_the_default_splitter_and_verifier(tmp_path, capsys):
    record = tmp_path / "record.json"
    record.write_text(json.dumps(RECORDS[0]))
    assert main(["check", "--record", str(record)]) in (0, 1)
    assert "citation recall" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "eval"])
def test_a_bad_verifier_spec_is_a_clean_error_that_names_the_choices(command, tmp_path, capsys):
    source = tmp_path / "paris.txt"
    source.write_text("Paris is the capital of France.")
    args = (["check", "--answer", "Paris is the capital [1].", "--source", str(source)] if command == "check"
            else ["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(tmp_path / "o"), "--no-progress"])
    assert main([*args, "--splitter", "regex", "--verifier", "judge:gpt"]) == 2
    assert "judge:BACKEND[:MODEL]" in capsys.readouterr().err


def test_the_cli_runs_as_a_module_as_make_bench_starts_it():
    done = subprocess.run([sys.executable, "-m", "citeline.pipeline.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: citeline")


@pytest.mark.slow
def test_library_load_bars_only_with_verbose(tmp_path):
    """transformers' "Loading weights" bar and load report stay out of the output unless asked for."""
    pytest.importorskip("transformers")
    from tests.tiny_models import tiny_bert

    model = tiny_bert(tmp_path / "model", ("entailment", "neutral", "contradiction"))
    source = tmp_path / "source.txt"
    source.write_text("paris is the capital of france")
    command = [sys.executable, "-m", "citeline.pipeline.cli", "check", "--answer", "paris is a city [1].",
               "--source", str(source), "--verifier", str(model), "--splitter", "regex"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_DISABLE", "TRANSFORMERS_"))}
    env["CITELINE_RUNTIME"] = "torch"  # transformers loads the weights on every run (ONNX: only to export)
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    loud = subprocess.run(command + ["--verbose"], capture_output=True, text=True, env=env)
    assert quiet.returncode == loud.returncode and "| 1 |" in quiet.stdout
    assert "Loading weights" not in quiet.stderr + quiet.stdout
    assert "Loading weights" in loud.stderr
