"""CONTRIBUTING.md's worked examples, run as written: each new file is put beside its package (on
the package's import path, in a temporary folder) and each one-line registration is executed in
the registry's module; then the part is used through the command line or the registry."""

from __future__ import annotations

import importlib
import json
import re
import sys

import pytest

from tests.conftest import REPO

BLOCK = re.compile(r"```python\n# (file|registration): (\S+)\n(.*?)```", re.S)
# Folder of a new file -> the package it extends.
PACKAGES = {"retrievers": "citeline.retrievers", "verifiers": "citeline.verifiers",
            "pipeline/cli": "citeline.pipeline.cli"}
# File a registration goes into -> the module it runs in.
REGISTRIES = {"retrievers/registry.py": "citeline.retrievers.registry",
              "verifiers/default.py": "citeline.verifiers.default",
              "pipeline/cli/__init__.py": "citeline.pipeline.cli"}


def examples() -> list[tuple[str, str, str]]:
    return BLOCK.findall((REPO / "CONTRIBUTING.md").read_text(encoding="utf-8"))


@pytest.fixture
def contributed(tmp_path, monkeypatch):
    """Every example file importable and every registration made, undone afterwards."""
    from citeline.pipeline import cli
    from citeline.retrievers.registry import RETRIEVERS
    from citeline.verifiers.default import VERIFIERS

    added = []
    for kind, path, code in examples():
        if kind == "file":
            folder, _, name = path.rpartition("/")
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(code, encoding="utf-8")
            package = importlib.import_module(PACKAGES[folder])
            monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path / folder)])
            added.append(f"{PACKAGES[folder]}.{name.removesuffix('.py')}")
    monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES)
    names = (RETRIEVERS.names(), VERIFIERS.names())
    for kind, path, code in examples():
        if kind == "registration":
            exec(code, vars(importlib.import_module(REGISTRIES[path])))  # noqa: S102 - the documented line
    yield
    for registry, before in zip((RETRIEVERS, VERIFIERS), names):
        for name in set(registry.names()) - set(before):
            registry.remove(name)
    for module in added:
        sys.modules.pop(module, None)


def test_each_example_is_one_new_file_and_one_registration_line():
    found = examples()
    files = [path for kind, path, _ in found if kind == "file"]
    registrations = [code for kind, _, code in found if kind == "registration"]
    assert files == ["retrievers/tfidf.py", "verifiers/numbers.py", "pipeline/cli/claims.py"]
    assert [len(code.strip().splitlines()) for code in registrations] == [1, 1, 1]


def test_the_retriever_example_builds_and_searches_an_index(contributed, tmp_path, capsys):
    from citeline.pipeline.cli import main

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in [
        ("paris", "Paris is the capital of France. The Seine flows through it."),
        ("berlin", "Berlin is the capital of Germany.")]))
    out = tmp_path / "idx"
    assert main(["index", "build", str(corpus), "--out", str(out), "--backend", "tfidf", "--splitter", "regex",
                 "--no-progress"]) == 0
    assert main(["index", "search", str(out), "Seine river", "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert hits[0]["doc_id"] == "paris" and hits[0]["retriever"] == "tfidf"


def test_the_verifier_example_is_a_verifier_spec(contributed):
    from citeline.verifiers.default import load_verifier, verifier_help

    assert "numbers:" in verifier_help()
    verifier = load_verifier("numbers@0.5")
    verdicts = verifier.verify([("It opened in 1889.", "It opened in 1889 and 1890."), ("x", "no numbers")])
    assert [v.label for v in verdicts] == ["supported", "supported"] and verifier.name == "numbers@0.5"
    assert load_verifier("numbers").verify([("In 1889.", "In 1899.")])[0].label == "not_supported"


def test_the_batch_command_example_runs_and_resumes(contributed, tmp_path, capsys):
    from citeline.pipeline.cli import main

    args = ["claims", str(REPO / "examples" / "answers.jsonl"), "--out", str(tmp_path / "run"), "--splitter",
            "regex", "--no-progress"]
    assert main([*args, "--limit", "2"]) == 0
    assert main([*args, "--resume"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and all(row["claims"] for row in rows)
    assert main([*args[:-3], "--splitter", "spacy", "--resume", "--no-progress"]) == 2
    assert "splitter was 'regex'" in capsys.readouterr().err
