import argparse
import json
import subprocess
import sys

import pytest

from citeline.pipeline.batch import RunFolderError
from citeline.pipeline.rarr import RarrConfig, Reviser
from citeline.pipeline.cli import revise as commands
from citeline.pipeline.rarr.batch import ReviseRun, read_results
from citeline.core.types import Document
from citeline.verifiers.lexical import LexicalVerifier
from tests.rarr_fakes import MemoryRetriever, rarr_llm

CORPUS = [Document("eiffel", "The Eiffel Tower was finished in 1889 for the World's Fair.")]
QUESTIONS = "I googled: When was the Eiffel Tower finished?"
DISAGREE = "Reasoning: 1889 vs 1899.\nTherefore: This disagrees with what you said."
EDIT = "This suggests 1899 is wrong.\nMy fix: The Eiffel Tower was finished in 1889."


def main(argv):
    """``citeline revise`` alone (the full CLI also loads the other packages' commands)."""
    parser = argparse.ArgumentParser(prog="citeline")
    commands.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def make_reviser():
    return Reviser(rarr_llm(QUESTIONS, DISAGREE, EDIT), MemoryRetriever(CORPUS), LexicalVerifier(1.0),
                   RarrConfig(gate_mode="reasoning", fallback_edit="none"))


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


LINES = [json.dumps({"id": "a", "text": "The Eiffel Tower was finished in 1899."}),
         "{not json",
         json.dumps({"id": "b", "answer": "The Eiffel Tower was finished in 1899."}),
         "",
         json.dumps({"id": "c", "question": "q"}),
         json.dumps({"claim": "The Eiffel Tower was finished in 1889."})]


def test_batch_writes_one_row_per_record_with_line_numbered_errors(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", LINES)
    summary = ReviseRun(make_reviser()).run(source, tmp_path / "out", progress=False)
    rows = read_results(tmp_path / "out")
    assert [(r["line"], r["status"]) for r in rows] == [(1, "ok"), (2, "error"), (3, "ok"), (5, "error"), (6, "ok")]
    assert "invalid JSON" in rows[1]["error"] and "missing field 'text'" in rows[3]["error"]
    assert rows[0]["result"]["revised"] == "The Eiffel Tower was finished in 1889."
    assert rows[0]["result"]["original"] == "The Eiffel Tower was finished in 1899."
    assert rows[4]["id"] == "line-6"
    assert summary.failed == 2 and summary.revised == 3 and summary.exit_code == 1
    assert summary.changed == 2  # the third record was already right, but the scripted editor changes it
    assert summary.counters["llm_calls"] == 15  # 3 question samples, the gate, the edit
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["revised"] == 3 and saved["problems"][0]["line"] == 2


def test_batch_resumes_without_redoing_saved_records(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", LINES)
    ReviseRun(make_reviser()).run(source, tmp_path / "out", limit=2, progress=False)
    assert [r["line"] for r in read_results(tmp_path / "out")] == [1, 2]
    with pytest.raises(RunFolderError, match="--resume"):
        ReviseRun(make_reviser()).run(source, tmp_path / "out", progress=False)
    reviser = make_reviser()
    summary = ReviseRun(reviser).run(source, tmp_path / "out", resume=True, progress=False)
    assert [r["line"] for r in read_results(tmp_path / "out")] == [1, 2, 3, 5, 6]
    assert summary.records == 5 and summary.records_this_run == 3
    assert len(reviser.llm.requests) == 10  # two records revised in this run, five calls each


@pytest.fixture
def scripted_backends(monkeypatch):
    monkeypatch.setattr(commands, "load_llm", lambda args: rarr_llm(QUESTIONS, DISAGREE, EDIT))
    monkeypatch.setattr(commands, "corpus_retriever", lambda path, sentences: MemoryRetriever(CORPUS))


def test_cli_batch_exit_code_says_whether_any_record_failed(tmp_path, scripted_backends, capsys):
    good = write_lines(tmp_path / "good.jsonl", [LINES[0]])
    bad = write_lines(tmp_path / "bad.jsonl", LINES)
    corpus = write_lines(tmp_path / "corpus.jsonl", [json.dumps({"text": "x"})])
    common = ["--corpus", str(corpus), "--verifier", "lexical", "--no-progress"]
    assert main(["revise", "--input", str(good), "--out", str(tmp_path / "g"), *common]) == 0
    assert main(["revise", "--input", str(bad), "--out", str(tmp_path / "b"), *common]) == 1
    assert "line 2: invalid JSON" in capsys.readouterr().err


def test_cli_single_answer_prints_the_revision(tmp_path, scripted_backends, capsys):
    corpus = write_lines(tmp_path / "corpus.jsonl", [json.dumps({"text": "x"})])
    code = main(["revise", "--text", "The Eiffel Tower was finished in 1899.", "--corpus", str(corpus),
                 "--verifier", "lexical", "--gate", "reasoning", "--out", str(tmp_path / "r.json")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "revised:  The Eiffel Tower was finished in 1889." in printed
    assert "[-1899.-] {+1889.+}" in printed
    assert json.loads((tmp_path / "r.json").read_text())["original"] == "The Eiffel Tower was finished in 1899."


def test_cli_argument_errors_name_the_fix(tmp_path, scripted_backends, capsys):
    corpus = write_lines(tmp_path / "corpus.jsonl", [json.dumps({"text": "x"})])
    assert main(["revise", "--input", str(corpus), "--corpus", str(corpus)]) == 2
    assert "--input needs --out" in capsys.readouterr().err
    assert main(["revise", "--text", "x", "--corpus", str(corpus), "--resume"]) == 2


def test_a_missing_corpus_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(commands, "load_llm", lambda args: rarr_llm(QUESTIONS, DISAGREE, EDIT))
    assert main(["revise", "--text", "x", "--corpus", str(tmp_path / "nope"), "--verifier", "lexical"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_revise_help_imports_no_heavy_modules():
    code = ("import argparse, sys\nfrom citeline.pipeline.cli import revise as commands\n"
            "parser = argparse.ArgumentParser()\ncommands.register(parser.add_subparsers())\n"
            "try:\n    parser.parse_args(['revise', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'spacy') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_the_corpus_becomes_a_bm25_retriever_with_exact_spans(tmp_path):
    from citeline.core.sentences import RegexSentenceSplitter

    corpus = write_lines(tmp_path / "corpus.jsonl", [
        json.dumps({"id": "eiffel", "text": "The Eiffel Tower was finished in 1889. It is in Paris."}),
        json.dumps({"id": "fleming", "text": "Fleming discovered penicillin in 1928."})])
    retriever = commands.corpus_retriever(corpus, RegexSentenceSplitter())
    [hit] = retriever.search("When was the Eiffel Tower finished?", k=1)
    assert hit.passage.doc_id == "eiffel"
    assert hit.passage.text.startswith("The Eiffel Tower was finished in 1889.")
