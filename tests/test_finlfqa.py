"""FinLFQA harness: the format and the stand-in converters, strict clause and judge parsing, the
metrics, the batch job with a scripted LLM (a test double, for parsing and metrics only), the
command against a real HTTP server on 127.0.0.1, and one slow run of the real SmolLM2."""

from __future__ import annotations

import json

import pytest

from citeline.evals.finance import (Clause, FinLFQAFields, FinRecord, convfinqa_records, load_finlfqa,
                                    tatqa_records, value_matches)
from citeline.evals.finlfqa import (FinLFQAJob, FinLFQAJudge, GoldAnswerer, ScoringOptions, code_counts,
                                    evidence_counts, load_records, number_counts, prf, run_benchmark)
from citeline.llm import ScriptedLLM
from citeline.pipeline.clauses import ClauseAnswerer, ClauseQuestion, format_context
from citeline.prompts.answers import clauses_regex, clauses_schema, parse_clauses, parse_scores
from tests.test_rarr_slow import local_llm  # noqa: F401 - the real SmolLM2 fixture (skips without the model)

RECORD = FinRecord("r1", "What was the change in net sales?",
                   {"ACME": ["ACME sells tools.", "| | 2019 | 2018 |\n| Net sales | 1,496.5 | 1,202.9 |",
                             "Amounts in millions."]},
                   [Clause("Net sales rose by $293.6 million in 2019.", {"ACME": [2, 3]}, "ans = 1496.5 - 1202.9")])


def reply(*clauses: dict) -> str:
    return json.dumps({"clauses": list(clauses)})


def clause(text="Net sales rose by $293.6 million.", evidence=None, code="", knowledge=None) -> dict:
    return {"text": text, "evidence": evidence if evidence is not None else {"ACME": [2]}, "code": code,
            "knowledge": knowledge or []}


# ----------------------------------------------------------------------------- parsing


def test_clauses_parse_strictly():
    good = reply(clause(code="ans = 1"))
    assert parse_clauses(good) == [clause(code="ans = 1")]
    assert parse_clauses("  " + good + "\n") is not None
    for bad in ("", "Net sales rose.", "Answer: " + good, good + " done", json.dumps({"clauses": []}),
                json.dumps({"clauses": [clause()], "extra": 1}), reply({**clause(), "text": " "}),
                reply({k: v for k, v in clause().items() if k != "code"}), reply(clause(evidence={"ACME": [True]})),
                reply(clause(evidence=[2])), reply(clause(knowledge=["1"]))):
        assert parse_clauses(bad) is None, bad


def test_every_regex_match_is_a_reply_that_fits_the_schema():
    import jsonschema
    import regex

    text = reply(clause('Sales "rose" 5%', {"ACME": [1, 3], "B&Co": []}, "x = 2\nans = x * 3", [1]))
    assert regex.fullmatch(clauses_regex(["ACME", "B&Co"]), text)
    jsonschema.validate(json.loads(text), clauses_schema(["ACME", "B&Co"]))
    assert parse_clauses(text)[0]["code"] == "x = 2\nans = x * 3"
    assert not regex.fullmatch(clauses_regex(["ACME"]), text)  # another company is not allowed
    assert regex.fullmatch(clauses_regex(["ACME"]), '{"clauses": [{"text": "Sal', partial=True)


def test_judge_scores_parse_strictly():
    assert parse_scores('{"accuracy": 4, "numerical_correctness": 1, "evidence_entailment": 5}') == {
        "accuracy": 4, "numerical_correctness": 1, "evidence_entailment": 5}
    for bad in ('{"accuracy": 6, "numerical_correctness": 1, "evidence_entailment": 5}',
                '{"accuracy": 4, "numerical_correctness": 1}', "4, 1, 5", "",
                '{"accuracy": 4.5, "numerical_correctness": 1, "evidence_entailment": 5}'):
        assert parse_scores(bad) is None, bad


# ----------------------------------------------------------------------------- data


def test_finlfqa_own_format_is_read_with_configurable_field_names(tmp_path):
    row = {"question": "Compare the two.", "context": json.dumps({"CWT": ["a", "b"], "AWK": {"1": "c", "2": "d"}}),
           "clauses": json.dumps([{"statement": "CWT grew 5%.", "citations": "CWT: [2], AWK: []",
                                   "python": "ans = 5", "knowledge_ids": [1]}]),
           "formulas": json.dumps(["Growth = (new - old) / old"])}
    path = tmp_path / "finlfqa.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [record] = load_finlfqa(path, fields=FinLFQAFields.parse("text=statement,evidence=citations,code=python"))
    assert record.context == {"CWT": ["a", "b"], "AWK": ["c", "d"]}
    assert record.knowledge == ["Growth = (new - old) / old"]
    assert record.clauses == [Clause("CWT grew 5%.", {"CWT": [2], "AWK": []}, "ans = 5", [1])]
    assert record.answer == "CWT grew 5%."
    (tmp_path / "list.json").write_text(json.dumps([row]))
    assert load_finlfqa(tmp_path / "list.json", fields=FinLFQAFields.parse("text=statement"))[0].clauses[0].text
    with pytest.raises(ValueError, match="PART=NAME"):
        FinLFQAFields.parse("colour=red")
    assert FinRecord.from_json(record.to_json()) == record


def test_tatqa_maps_onto_the_format(shared_data):
    records = {r.id: r for r in tatqa_records(shared_data / "finance" / "tatqa" / "tatqa_dataset_dev.jsonl")}
    assert len(records) == 1668
    change = records["eb787966-fa02-401f-bfaf-ccabf3828b23"]  # "What is the change in Other in 2019 from 2018?"
    assert change.answer == "-12.6 million"
    assert change.clauses[0].evidence == {"REPORT": [2, 3]}  # rel_paragraphs 2, and the table (paragraph 3)
    assert change.clauses[0].code == "ans = 44.1-56.7"
    assert change.context["REPORT"][2].startswith("| ")
    span = records["23801627-ff77-4597-8d24-1c99e2452082"]
    assert span.clauses[0].evidence == {"REPORT": [2]} and span.clauses[0].code == ""


def test_convfinqa_maps_onto_the_format(shared_data):
    records = convfinqa_records(shared_data / "finance" / "convfinqa_pot" / "convfinqa_dev.jsonl")
    assert len(records) == 421
    assert all(r.clauses[0].code.strip() for r in records)
    assert sum(bool(r.clauses[0].evidence["REPORT"]) for r in records) >= 335  # the table at least


def test_gold_clauses_score_100_on_numbers_and_evidence(shared_data, tmp_path):
    records = load_records("tatqa", shared_data / "finance" / "tatqa" / "tatqa_dataset_dev.jsonl")[:60]
    summary = run_benchmark(records, FinLFQAJob(GoldAnswerer()), tmp_path / "gold", progress=False)
    assert summary.records == 60 and summary.unparsed == 0
    assert (summary.number_p, summary.number_r, summary.number_f1) == (100.0, 100.0, 100.0)
    assert (summary.evidence_p, summary.evidence_r, summary.evidence_f1) == (100.0, 100.0, 100.0)
    assert summary.code_snippets and summary.code_success >= 90.0 and summary.code_correct >= 90.0  # a few gold
    # derivations are wrong; a loaded machine may also stop one at the sandbox's wall-clock limit
    assert summary.knowledge_recall is None and summary.knowledge_records == 0  # TAT-QA has no knowledge


# ----------------------------------------------------------------------------- metrics


def scored(text: str, reference: str, **options) -> dict:
    record = FinRecord("r", "q", {"A": ["p"]}, [Clause(reference)])
    return number_counts([Clause(text)], record, ScoringOptions(**options))


def test_numbers_match_within_1_percent_after_unit_normalisation():
    assert scored("It was 3 million.", "3,000,000") == {"matched": 1, "predicted": 1, "reference": 1}
    assert scored("$1.2 billion", "$1,200 million")["matched"] == 1
    assert scored("100.9", "100")["matched"] == 1 and scored("101.5", "100")["matched"] == 0
    assert scored("(1,234)", "-1,234")["matched"] == 1
    assert scored("In 2019 it was 5.", "5")["predicted"] == 1  # years are not counted by default
    assert scored("In 2019 it was 5.", "5", years=True)["predicted"] == 2
    assert scored("5, then 5 again", "5")["predicted"] == 1
    assert scored("5, then 5 again", "5", duplicates=True) == {"matched": 1, "predicted": 2, "reference": 1}
    assert scored("12%", "0.12")["matched"] == 0 and scored("12%", "0.12", percent_as_ratio=True)["matched"] == 1


def test_evidence_counts_pairs_or_flattened_ids_and_per_clause():
    gold = FinRecord("r", "q", {"A": ["x", "y"], "B": ["z"]}, [Clause("one", {"A": [1]}), Clause("two", {"B": [1]})])
    swapped = [Clause("one", {"B": [1]}), Clause("two", {"A": [1]})]
    assert evidence_counts(swapped, gold, ScoringOptions()) == {"matched": 2, "predicted": 2, "reference": 2}
    assert evidence_counts(swapped, gold, ScoringOptions(scope="clause"))["matched"] == 0
    flat = [Clause("one", {"B": [1]})]
    assert evidence_counts(flat, gold, ScoringOptions())["matched"] == 1
    assert evidence_counts(flat, gold, ScoringOptions(evidence="index")) == {"matched": 1, "predicted": 1,
                                                                             "reference": 1}


def test_averages_and_an_empty_prediction():
    counts = [{"matched": 1, "predicted": 1, "reference": 1}, {"matched": 0, "predicted": 0, "reference": 3},
              {"matched": 0, "predicted": 2, "reference": 0}]  # the last has no reference: left out
    p, r, f, n = prf(counts, "macro")
    assert (p, r, f, n) == (50.0, 50.0, 50.0, 2)
    p, r, f, n = prf(counts, "micro")
    assert (p, r, n) == (100.0, 25.0, 2) and f == pytest.approx(40.0)
    assert prf([], "macro") == (None, None, None, 0)


def test_code_value_is_checked_against_the_reference_as_written_and_scaled():
    from citeline.pipeline.sandbox import SandboxResult

    record = FinRecord("r", "q", {"A": ["p"]}, [Clause("-12.6 million")])
    results = [SandboxResult(True, -12.6), SandboxResult(True, -12_600_000.0), SandboxResult(True, 3.0),
               SandboxResult(False, None, "rejected")]
    assert code_counts(results, record, ScoringOptions()) == {"snippets": 4, "ran": 3, "correct": 2}
    assert code_counts(results, record, ScoringOptions(execution="correct"))["ran"] == 2
    rounded = FinRecord("r", "q", {"A": ["p"]}, [Clause("0.31")])
    assert code_counts([SandboxResult(True, 9.46 / 30.90)], rounded, ScoringOptions())["correct"] == 1
    assert value_matches(True, "yes") and not value_matches(1.0, "yes") and value_matches(0.125, 12.5, percent=True)
    with pytest.raises(ValueError, match="scope"):
        ScoringOptions(scope="sentence")


# ----------------------------------------------------------------------------- the job, scripted


def test_scripted_run_retries_counts_failures_and_scores(tmp_path):
    good = reply(clause(evidence={"ACME": [2, 9]}, code="ans = 1496.5 - 1202.9"))
    llm = ScriptedLLM(["not json", good] + ["still not json"] * 3)  # a test double: scripted replies
    judge_llm = ScriptedLLM(['{"accuracy": 4, "numerical_correctness": 5, "evidence_entailment": 3}', "Good answer."])
    second = FinRecord("r2", "What were net sales in 2019?", RECORD.context, [Clause("$1,496.5 million", {"ACME": [2]})])
    job = FinLFQAJob(ClauseAnswerer(llm, retries=2, structured="none"), ScoringOptions(), FinLFQAJudge(judge_llm),
                     batch_size=1)
    summary = run_benchmark([RECORD, second], job, tmp_path / "run", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [r["tries"] for r in rows] == [2, 3] and [r["parsed"] for r in rows] == [True, False]
    assert rows[0]["failures"] == ["unparsed reply: 'not json'"] and len(rows[1]["failures"]) == 3
    assert rows[0]["invalid_evidence"] == ["ACME [9]"]
    assert rows[0]["code_results"][0]["ok"] and rows[0]["scores"]["code"]["correct"] == 1
    assert summary.unparsed == 1 and summary.tries == 5 and summary.retried == 2
    assert summary.number_r == 50.0  # the first answer has the number, the unparsed one scores 0
    assert summary.evidence_p == pytest.approx(25.0)  # 1 of 2 ids, and 0 for the empty answer
    assert summary.judged == 1 and summary.judge_unparsed == 1 and summary.judge["numerical_correctness"] == 5
    assert llm.requests[1].temperature > 0 and llm.requests[1].seed != llm.requests[0].seed  # a retry samples
    again = run_benchmark([RECORD, second], job, tmp_path / "run", resume=True, progress=False)
    assert again.records_this_run == 0 and again.records == 2


def test_structured_modes_send_the_constraint():
    llm = ScriptedLLM([reply(clause())])
    question = ClauseQuestion(RECORD.question, RECORD.context)
    assert ClauseAnswerer(llm).request(question, 0).structured.json_schema["required"] == ["clauses"]
    llm.name = "transformers"
    assert ClauseAnswerer(llm).request(question, 0).structured.regex == clauses_regex(["ACME"])
    assert ClauseAnswerer(llm, structured="none").request(question, 0).structured is None
    assert "[2] | | 2019 | 2018 |" in format_context(RECORD.context)
    with pytest.raises(ValueError, match="structured"):
        ClauseAnswerer(llm, structured="grammar")


# ----------------------------------------------------------------------------- the command, over HTTP


def test_command_against_an_openai_compatible_server(tmp_path, capsys):
    from citeline.pipeline.cli import main
    from tests.test_llm_http import FakeServer

    data = tmp_path / "finlfqa.jsonl"
    data.write_text(json.dumps({"question": RECORD.question, "context": json.dumps(RECORD.context),
                                "clauses": json.dumps([{"text": RECORD.clauses[0].text, "evidence": {"ACME": [2, 3]},
                                                        "code": RECORD.clauses[0].code, "knowledge": []}])}) + "\n")
    server = FakeServer()
    try:
        server.reply = reply(clause(evidence={"ACME": [2, 3]}, code="ans = 1496.5 - 1202.9"))
        code = main(["bench", "finlfqa", "--data", str(data), "--backend", "openai", "--base-url", server.url,
                     "--out", str(tmp_path / "run"), "--no-progress"])
        sent = server.bodies[-1]
    finally:
        server.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert sent["structured_outputs"]["json"]["properties"]["clauses"]["items"]["properties"]["evidence"][
        "required"] == ["ACME"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["evidence_f1"] == 100.0 and summary["number_f1"] == 100.0 and summary["code_correct"] == 100.0
    assert "| number P / R / F1 (1% rel.) | 100.0 / 100.0 / 100.0 |" in out


def test_command_refuses_bad_input(tmp_path, capsys):
    from citeline.pipeline.cli import main

    assert main(["bench", "finlfqa", "--data", str(tmp_path / "missing.jsonl"), "--gold", "--out",
                 str(tmp_path / "run")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the real small model


@pytest.mark.slow
def test_smollm2_answers_two_tatqa_questions(local_llm, shared_data, tmp_path):
    llm = local_llm
    llm.structured_retries = 0  # the harness retries, and counts each try
    records = load_records("tatqa", shared_data / "finance" / "tatqa" / "tatqa_dataset_dev.jsonl")[:2]
    job = FinLFQAJob(ClauseAnswerer(llm, retries=1, max_tokens=160), ScoringOptions())
    summary = run_benchmark(records, job, tmp_path / "run", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert summary.records == 2 and summary.failed == 0 and len(rows) == 2
    for row in rows:  # every record is answered or counted, never dropped
        assert row["tries"] >= 1 and (row["parsed"] == bool(row["clauses"]))
        assert len(row["failures"]) == row["tries"] - row["parsed"]
    assert summary.unparsed == sum(not r["parsed"] for r in rows)
    # The same question through a real OpenAI-compatible server in front of the same model: same answer.
    from citeline.llm.openai_http import OpenAICompatibleLLM
    from tests.openai_model_server import ModelServer

    server = ModelServer(llm)
    try:
        remote = ClauseAnswerer(OpenAICompatibleLLM(server.url, timeout=600), structured="regex", retries=1,
                                max_tokens=160)
        served = run_benchmark(records[:1], FinLFQAJob(remote, ScoringOptions()), tmp_path / "served", progress=False)
    finally:
        server.close()
    row = json.loads((tmp_path / "served" / "results.jsonl").read_text().splitlines()[0])
    assert served.records == 1 and row["clauses"] == rows[0]["clauses"] and row["tries"] == rows[0]["tries"]
