"""The HTML report's data and files, without a browser (tests/test_report_browser.py opens them)."""

import json
import re

from citeline.core.types import Document
from citeline.pipeline.check import CitationChecker, evidence_text
from citeline.pipeline.cli import main
from citeline.pipeline.html_report import (check_page, closest_sentence, eval_record, evidence_segments, run_page,
                                           source_spans, word_diff)
from citeline.verifiers.lexical import LexicalVerifier
from tests.conftest import REPO

FAST = ["--verifier", "lexical", "--splitter", "regex"]
EXAMPLES = REPO / "examples"


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="citeline-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def every_span(record: dict):
    for claim in record["claims"]:
        for span in claim["spans"]:
            yield claim, span


def test_evidence_segments_are_where_each_source_is_in_the_verifiers_evidence():
    documents = [Document("a", "First text.", "Title A"), Document("b", "Second one."), Document("c", "Third.", "C")]
    evidence = evidence_text(documents)
    plain = [{"id": d.id, "title": d.title, "text": d.text} for d in documents]
    assert [evidence[start:end] for start, end in evidence_segments(plain)] == [d.text for d in documents]


def test_a_verifier_window_becomes_a_span_of_the_source_it_falls_in():
    documents = [{"id": "a", "title": "A", "text": "Paris is in France. Berlin is in Germany."},
                 {"id": "b", "title": "", "text": "Rome is in Italy. Madrid is in Spain."}]
    start = evidence_text([Document(**d) for d in documents]).index("Madrid")
    window = [start, start + len("Madrid is in Spain.")]
    evidence = {"verdict": {"label": "supported", "probability": 0.9, "window": window}}
    assert source_spans(documents, 1, "Madrid is in Spain.", evidence, documents) == [
        {"source": 1, "start": 18, "end": 37, "kind": "support", "how": "window"}]
    assert source_spans(documents, 0, "Madrid is in Spain.", evidence, documents) == []  # it is in the other source
    # A window over the whole evidence says nothing: the closest sentence is shown instead.
    whole = {"verdict": {"label": "supported", "probability": 0.9, "window": [0, len(documents[1]["text"])]}}
    assert source_spans(documents, 1, "Madrid is in Spain.", whole, [documents[1]])[0]["how"] == "sentence"


def test_the_closest_sentence_run_covers_a_claim_joining_two_sentences():
    text = "Intro here. The Amazon is 6,400 km long. Whether it beats the Nile is disputed. Unrelated end."
    start, end = closest_sentence(text, "It is 6,400 km long, but whether it beats the Nile is disputed.")
    assert text[start:end] == "The Amazon is 6,400 km long. Whether it beats the Nile is disputed."
    assert closest_sentence(text, "Zebras gallop.") is None


def test_a_check_page_marks_claims_markers_and_exact_spans():
    answer = "Paris is the capital of France [1]. Berlin is in Spain [2]. Rome is old [9]. Water is wet."
    sources = ["Paris is the capital and largest city of France.", "Berlin is the capital of Germany. 🐻 Bears."]
    report = CitationChecker(LexicalVerifier(), check_every_source=True).check(answer, sources)
    record = page_data(check_page(report.to_dict()))["records"][0]
    assert [c["status"] for c in record["claims"]] == ["supported", "unsupported", "invalid", "uncited"]
    assert record["claims"][1]["markers"][0]["parts"] == [{"source": 1, "state": "wrong"}]
    assert record["claims"][2]["markers"][0]["parts"] == [{"invalid": "9", "state": "invalid"}]
    spans = list(every_span(record))
    assert spans
    for claim, span in spans:
        assert record["answer"][claim["start"]:claim["end"]].startswith(claim["text"][:5])
        source = record["sources"][span["source"]]["text"]
        assert 0 <= span["start"] < span["end"] <= len(source)


def test_the_page_is_self_contained_and_its_data_cannot_end_the_script(tmp_path):
    answer = "A claim </script><script>alert(1)</script> [1]."
    report = CitationChecker(LexicalVerifier()).check(answer, ["<!-- a source --> A claim."])
    html = check_page(report.to_dict())
    assert html.count("</script>") == 2  # the data's and the code's, nothing from the answer
    assert page_data(html)["records"][0]["answer"] == answer
    assert not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html  # no network


def test_eval_html_check_html_and_report_write_pages(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(out), "--no-progress", "--html", *FAST]) == 1
    data = page_data((out / "report.html").read_text(encoding="utf-8"))
    assert data["overview"]["records_total"] == 5 and sum(data["overview"]["histogram"]["bins"]) > 0
    assert main(["report", str(out), "-o", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == (out / "report.html").read_text(encoding="utf-8")

    record = tmp_path / "record.json"
    record.write_text(json.dumps({"answer": "Paris is in France [1].", "sources": ["Paris is in France."]}))
    assert main(["check", "--record", str(record), "--out", str(tmp_path / "r.json"), "--html",
                 str(tmp_path / "one.html"), *FAST]) == 0
    assert main(["report", str(tmp_path / "r.json")]) == 0
    assert page_data((tmp_path / "r.html").read_text(encoding="utf-8")) == \
        page_data((tmp_path / "one.html").read_text(encoding="utf-8"))
    assert "HTML report:" in capsys.readouterr().err


def test_report_refuses_what_it_cannot_read(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    (tmp_path / "x.json").write_text("[1, 2]")
    assert main(["report", str(tmp_path / "x.json")]) == 2
    assert main(["report", str(tmp_path)]) == 2  # a folder without results.jsonl
    assert "citeline: error:" in capsys.readouterr().err


def test_error_rows_and_no_claims_are_records_with_problems(tmp_path):
    out = tmp_path / "bad"
    main(["eval", str(EXAMPLES / "bad_records.jsonl"), "--out", str(out), "--no-progress", *FAST])
    records = page_data(run_page(out))["records"]
    errors = [r for r in records if r["status"] == "error"]
    assert errors and all(r["error"] and r["problem_count"] >= 1 for r in errors)


def test_a_run_page_keeps_the_records_with_most_problems(tmp_path):
    out = tmp_path / "run"
    main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(out), "--no-progress", *FAST])
    data = page_data(run_page(out, max_records=2))
    counts = sorted((eval_record(row)["problem_count"] for row in map(json.loads, (out / "results.jsonl").open())),
                    reverse=True)
    assert data["overview"]["records_shown"] == 2
    assert sorted((r["problem_count"] for r in data["records"]), reverse=True) == counts[:2]


def test_a_revise_run_shows_its_revision_as_a_word_diff(tmp_path):
    assert word_diff("Curie died in Warsaw.", "Curie died in Sallanches.") == [
        ["=", "Curie died in "], ["-", "Warsaw"], ["+", "Sallanches"], ["=", "."]]
    out = tmp_path / "revise"
    out.mkdir()
    result = {"original": "Curie died in Warsaw.", "revised": "Curie died in Sallanches.", "diff": "",
              "questions": [], "evidence": [], "gates": [], "report": [],
              "edits": [{"question": "Where did Curie die?", "status": "applied", "before": "Curie died in Warsaw.",
                         "after": "Curie died in Sallanches.", "edit_ratio": 0.3, "raw": ""}],
              "metrics": {"attribution_before": 0.0, "attribution_after": 1.0, "preservation": 0.7, "f1_ap": 0.8,
                          "claims_before": 1, "claims_after": 1},
              "counters": {}, "seconds": 1.0, "id": "curie", "metadata": {}}
    (out / "results.jsonl").write_text(json.dumps({"line": 1, "id": "curie", "status": "ok", "result": result}) + "\n")
    (out / "run.json").write_text(json.dumps({"command": "revise", "input": "x.jsonl", "config": {}}))
    data = page_data(run_page(out))
    assert data["kind"] == "revise" and data["records"][0]["diff"][1] == ["-", "Warsaw"]
    assert data["overview"]["metrics"]["changed"] == 1
