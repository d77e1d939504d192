"""Issue 15: no input stops a run, every exit status means one thing, sources are read as the
README says, and the Python API takes what a new user passes."""

import json
import subprocess
import sys

import pytest

from citeline.core.citations import find_markers
from citeline.pipeline.cli import main
from tests.conftest import REPO

FAST = ["--verifier", "lexical", "--splitter", "regex"]
GOOD = {"answer": "Alpha beta [1].", "sources": ["alpha beta"]}
DEEP_JSON = "[" * 100_000 + "]" * 100_000
SURROGATE = '{"answer": "Alpha \\ud800 beta [1].", "sources": ["alpha beta"]}'


def rows_of(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def eval_lines(tmp_path, lines, *flags):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "run"
    code = main(["eval", str(source), "--out", str(out), "--no-progress", "--overwrite", *FAST, *flags])
    return code, {row["line"]: row for row in rows_of(out)}


# 1. Every record is isolated.

@pytest.mark.parametrize("batch_size", ["1", "16"])
def test_records_that_used_to_stop_the_run_are_each_one_error_or_warning(tmp_path, batch_size):
    empty_id = json.dumps({"answer": "Alpha [1].", "sources": [{"id": "", "text": "alpha"}]})
    code, rows = eval_lines(tmp_path, [json.dumps(GOOD), DEEP_JSON, SURROGATE, empty_id, json.dumps(GOOD)],
                            "--batch-size", batch_size)
    assert code == 1 and sorted(rows) == [1, 2, 3, 4, 5]
    assert rows[1]["status"] == rows[5]["status"] == "ok"
    assert rows[2]["error_kind"] == "invalid_json" and "nested too deeply" in rows[2]["error"]
    assert rows[3]["status"] == "ok" and "\ufffd" in rows[3]["report"]["answer"]["text"]
    assert "lone surrogates" in rows[3]["warnings"][0]
    assert rows[4]["status"] == "error" and "'id' is empty" in rows[4]["error"]


@pytest.mark.parametrize("batch_size", ["1", "3"])
def test_a_bug_a_record_triggers_is_its_error_line_alone_or_in_a_batch(tmp_path, monkeypatch, batch_size):
    from citeline.pipeline.check import CitationChecker

    real = CitationChecker.check_many

    def recursing_on_gamma(self, requests):
        if any("Gamma" in r.answer.text for r in requests):
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, requests)

    monkeypatch.setattr(CitationChecker, "check_many", recursing_on_gamma)
    gamma = {"answer": "Gamma [1].", "sources": ["gamma"]}
    code, rows = eval_lines(tmp_path, [json.dumps(GOOD), json.dumps(gamma), json.dumps(GOOD)],
                            "--batch-size", batch_size)
    assert code == 1 and [rows[n]["status"] for n in (1, 2, 3)] == ["ok", "error", "ok"]
    assert rows[2]["error_kind"] == "internal_error" and "RecursionError" in rows[2]["error"]


def test_marker_parsing_is_linear_and_recursion_free_on_deep_brackets():
    answer = "Alpha " + "[" * 100_000 + "]" * 100_000 + " beta [1]."
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)  # far below the nesting depth: recursion would fail at once
    try:
        markers = find_markers(answer, ["1"])
    finally:
        sys.setrecursionlimit(limit)
    assert [m.raw for m in markers] == ["[1]"]


def test_a_near_miss_of_a_citation_is_read_in_linear_time():
    # 19 groups of "1" and three spaces: a backtracking pattern tries 3**19 ways before failing
    assert find_markers("[" + "1   " * 19 + "x]", ["a"]) == []


def test_resume_names_a_corrupted_middle_line_of_the_results(tmp_path, capsys):
    lines = [json.dumps(GOOD)] * 3
    eval_lines(tmp_path, lines)
    saved = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    saved[1] = saved[1][:30]  # cut short by hand
    (tmp_path / "run" / "results.jsonl").write_text("\n".join(saved) + "\n")
    args = ["eval", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "run"), "--resume", "--no-progress", *FAST]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "line 2 of" in err and "results.jsonl" in err and "Traceback" not in err


# 2. Exit status: one meaning each.

def test_a_bug_is_one_line_and_status_4_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    from citeline.pipeline import check

    def broken(self, requests):
        raise KeyError("oops")

    monkeypatch.setattr(check.CitationChecker, "check_many", broken)
    (tmp_path / "a.txt").write_text("alpha")
    argv = ["check", "--answer", "Alpha [1].", "--source", str(tmp_path / "a.txt"), *FAST]
    assert main(argv) == 4
    err = capsys.readouterr().err
    assert "internal error (KeyError" in err and "--debug" in err and "Traceback" not in err
    assert main(["--debug", *argv]) == 4
    assert "Traceback" in capsys.readouterr().err
    assert main([*argv, "--debug"]) == 4  # after the command too
    assert "Traceback" in capsys.readouterr().err


def test_a_server_that_cannot_be_reached_is_status_3(tmp_path, capsys):
    pytest.importorskip("httpx")
    (tmp_path / "a.txt").write_text("alpha")
    assert main(["generate", "--question", "Q", "--source", str(tmp_path / "a.txt"), "--backend", "openai",
                 "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 3
    assert "cannot connect" in capsys.readouterr().err


def test_exit_status_0_only_when_every_claim_is_supported(tmp_path):
    supported = {"answer": "Alpha beta [1].", "sources": ["alpha beta"]}
    unsupported = {"answer": "Alpha beta [1].", "sources": ["gamma delta"]}
    assert eval_lines(tmp_path, [json.dumps(supported)])[0] == 0
    assert eval_lines(tmp_path, [json.dumps(supported), json.dumps(unsupported)])[0] == 1


def test_help_documents_the_exit_status(capsys):
    for argv in (["--help"], ["check", "--help"], ["eval", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "3 environment failure" in capsys.readouterr().out


def test_a_closed_pipe_is_no_traceback(tmp_path):
    (tmp_path / "a.txt").write_text("alpha beta")
    answer = " ".join(f"Alpha beta number {n} [1]." for n in range(2000))  # far more than a pipe holds
    command = [sys.executable, "-m", "citeline.pipeline.cli", "check", "--answer", answer,
               "--source", str(tmp_path / "a.txt"), "--json", *FAST]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    process.stdout.read(100)
    process.stdout.close()  # what `| head` does
    err = process.stderr.read().decode()
    assert process.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err


# 3. Input validation.

@pytest.mark.parametrize("spec", ["lexical@5", "lexical@-0.1", "lexical@nan"])
def test_a_lexical_threshold_outside_0_1_is_refused(tmp_path, spec, capsys):
    (tmp_path / "a.txt").write_text("alpha")
    argv = ["check", "--answer", "Alpha [1].", "--source", str(tmp_path / "a.txt"), "--splitter", "regex"]
    assert main([*argv, "--verifier", spec]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_a_zero_claim_answer_is_reported_and_left_out_of_the_means(tmp_path):
    markers_only = {"answer": "[1] [2]", "sources": ["alpha", "beta"]}
    code, rows = eval_lines(tmp_path, [json.dumps(GOOD), json.dumps(markers_only)])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert code == 1 and rows[2]["status"] == "no_claims"
    assert summary["checked"] == 1 and summary["no_claims"] == 1 and summary["citation_recall"] == 1.0
    assert any(p["line"] == 2 and p["status"] == "no_claims" for p in summary["problems"])


def test_an_empty_source_is_a_warning(tmp_path, capsys):
    record = {"answer": "Alpha beta [1].", "sources": ["alpha beta", "  "]}
    code, rows = eval_lines(tmp_path, [json.dumps(record)])
    assert code == 0 and rows[1]["warnings"] == ["source 2 is empty: no claim can be supported by it"]
    assert "with input warnings       | 1" in capsys.readouterr().out


@pytest.mark.parametrize("text, code, said", [
    ("[1, 2]", 2, "must be a JSON object"),
    (DEEP_JSON, 2, "nested too deeply"),
    (SURROGATE, 0, "lone surrogates"),
    (json.dumps({"answer": "Alpha " + "[" * 90_000 + "]" * 90_000 + " beta [1].", "sources": ["alpha beta"]}),
     0, ""),
    (json.dumps({"answer": "Alpha beta [1]. " * 70_000, "sources": ["alpha beta"]}), 2, "--max-answer-chars"),
])
def test_check_record_gives_a_clear_error_or_a_result(tmp_path, capsys, text, code, said):
    record = tmp_path / "record.json"
    record.write_text(text, encoding="utf-8")
    assert main(["check", "--record", str(record), "--json", *FAST]) == code
    captured = capsys.readouterr()
    assert said in captured.err and "Traceback" not in captured.err
    if code == 0:
        assert json.loads(captured.out)["metrics"]["claims"] >= 1


def test_check_reports_an_answer_without_claims_and_replaces_invalid_unicode(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("alpha beta")
    (tmp_path / "deep.json").write_text(DEEP_JSON)
    argv = ["--source", str(tmp_path / "a.txt"), *FAST]
    assert main(["check", "--answer", "[1]", *argv]) == 1
    assert "no claim to check" in capsys.readouterr().err
    assert main(["check", "--answer", "Alpha \udced beta [1].", *argv]) == 0  # undecodable bytes in argv
    captured = capsys.readouterr()
    assert "\ufffd" in captured.out and "lone surrogates" in captured.err
    assert main(["check", "--answer", "Alpha [1].", "--sources", str(tmp_path / "deep.json"), *FAST]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_more_malformed_records_each_get_their_reason(tmp_path):
    many = {"answer": "Alpha [1].", "sources": ["alpha"] + [{"id": "d", "text": "x"}] * 2 + ["y"] * 50_000}
    code, rows = eval_lines(tmp_path, ['{"answer": "Alpha [1].", "sources": ["alpha"], "n": ' + "9" * 5000 + "}",
                                       json.dumps(many),
                                       json.dumps({"answer": "Alpha [1].", "question": None, "sources": ["alpha"]})])
    assert code == 1 and rows[1]["error_kind"] == "invalid_json"
    assert "repeated: ['d']" in rows[2]["error"] and rows[3]["status"] == "ok"


def test_the_answer_size_limit_is_configurable(tmp_path):
    long = {"answer": "Alpha beta [1]. " * 20, "sources": ["alpha beta"]}
    code, rows = eval_lines(tmp_path, [json.dumps(long)], "--max-answer-chars", "100")
    assert rows[1]["error_kind"] == "too_large" and "--max-answer-chars" in rows[1]["error"]
    assert eval_lines(tmp_path, [json.dumps(long)], "--max-answer-chars", "1000")[1][1]["status"] == "ok"


# 4. Source ids: numbers are positions, ids are ids.

def test_numbers_are_positions_whatever_the_ids(tmp_path):
    record = {"answer": "Alpha beta [1].", "sources": [{"id": "2", "text": "gamma"}, {"id": "1", "text": "alpha beta"}]}
    code, rows = eval_lines(tmp_path, [json.dumps(record)])
    claim = rows[1]["report"]["claims"][0]
    assert code == 1 and claim["claim"]["markers"][0]["source_ids"] == ["2"]  # the first source's id
    assert claim["citations"]["recall"] == 0.0 and "supported by [2]" in " ".join(claim["problems"])


def test_ids_are_matched_only_as_ids():
    ids = ["doc7", "x", "1"]
    assert find_markers("A [doc7].", ids)[0].source_ids == ("doc7",)
    assert find_markers("A [1].", ids)[0].source_ids == ("doc7",)  # position 1, not the source whose id is "1"
    assert find_markers("A [1-2].", ids)[0].source_ids == ("doc7", "x")
    assert find_markers("A [Source 2].", ids)[0].source_ids == ("x",)


def test_a_null_source_id_becomes_its_position(tmp_path):
    record = {"answer": "Alpha beta [1].", "sources": [{"id": None, "text": "alpha beta"}]}
    code, rows = eval_lines(tmp_path, [json.dumps(record)])
    assert code == 0 and rows[1]["report"]["documents"][0]["id"] == "1"


# 5. The Python API a RAGAS or MiniCheck user guesses.

def test_the_one_liner_takes_strings_dicts_and_documents():
    import citeline

    sources = ["alpha beta", {"id": "g", "title": "G", "text": "gamma"}, citeline.Document("d", "delta")]
    report = citeline.check("Alpha beta [1]. Gamma [g]. Delta [3].", sources, verifier="lexical", splitter="regex")
    assert isinstance(report, citeline.Report)
    assert [r.citations.recall for r in report.claims] == [1.0, 1.0, 1.0]
    data = report.to_dict()
    assert isinstance(data, dict) and data["metrics"]["claims"] == 3.0
    assert citeline.check("Alpha [1].", "alpha", verifier="lexical", splitter="regex").metrics["citation_recall"] == 1.0


def test_the_checker_takes_plain_strings_and_warns_about_an_empty_one():
    from citeline.core.claims import ClaimSplitter
    from citeline.core.sentences import RegexSentenceSplitter
    from citeline.pipeline import CitationChecker
    from citeline.verifiers.lexical import LexicalVerifier

    checker = CitationChecker(LexicalVerifier(), ClaimSplitter(RegexSentenceSplitter()))
    report = checker.check("Alpha beta [1].", ["alpha beta", ""])
    assert report.claims[0].citations.recall == 1.0
    assert report.metadata["warnings"] == ["source 2 is empty: no claim can be supported by it"]


def test_import_citeline_stays_light():
    code = ("import citeline, sys\n"
            "print([m for m in ('numpy', 'torch', 'spacy') if m in sys.modules], callable(citeline.check))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[] True"
