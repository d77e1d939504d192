"""Contrast sets: loading, scoring and `citeline bench contrast`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeline.evals.contrast import evaluate, load_rows, render_markdown
from citeline.pipeline.cli import main
from citeline.verifiers.lexical import LexicalVerifier

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_obvious_cases_hold_an_original_and_edits_per_pair():
    rows = load_rows(EXAMPLES / "obvious_cases.jsonl")
    pairs: dict[int, list[dict]] = {}
    for row in rows:
        pairs.setdefault(row["pair_id"], []).append(row)
    assert len(pairs) >= 11
    for group in pairs.values():
        assert [r["recipe"] for r in group].count("original") == 1
        assert all(r["supported"] == (r["recipe"] == "original") for r in group)
        assert len({r["evidence"] for r in group}) == 1


def test_a_row_without_a_required_field_names_the_line_and_the_fields(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"pair_id": 1, "recipe": "original", "claim": "x", "supported": 1}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: missing fields \['evidence'\]"):
        load_rows(path)
    with pytest.raises(ValueError, match="no rows in slice 'report'"):
        load_rows(EXAMPLES / "obvious_cases.jsonl", "report")
    path.write_text(EXAMPLES.joinpath("obvious_cases.jsonl").read_text().splitlines()[0] + "\n{oops\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not JSON"):
        load_rows(path)


def test_the_lexical_baseline_passes_a_negation_that_keeps_every_word():
    rows = load_rows(EXAMPLES / "obvious_cases.jsonl")
    result = evaluate(LexicalVerifier(), rows)
    negated = next(d for d in result.verdicts if d["claim"] == "The Eiffel Tower is not in Paris.")
    assert negated["verdict"] == "supported"  # why citeline needs an entailment model
    assert result.kinds["negation"]["pairs"] == sum(r["recipe"] == "negation" for r in rows)
    table = render_markdown([result], show_rows=True)
    assert "| The Eiffel Tower is not in Paris. | negation | supported" in table


def test_bench_contrast_prints_the_table_and_exits_2_on_a_missing_file(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["bench", "contrast", "--data", str(EXAMPLES / "obvious_cases.jsonl"), "--verifier", "lexical",
                 "--out", str(out)]) == 0
    assert "negation F1 (pairs)" in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["verifier"].startswith("lexical")
    assert main(["bench", "contrast", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
