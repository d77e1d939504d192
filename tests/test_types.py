import pytest
from hypothesis import given
from hypothesis import strategies as st

from citeline.core.types import (
    Answer,
    CitationCheck,
    CitationMarker,
    Claim,
    ClaimResult,
    Document,
    Evidence,
    Passage,
    Report,
    SpanError,
    Verdict,
    from_dict,
    to_dict,
)


@given(st.text(), st.data())
def test_document_passages_quote_their_span_exactly(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    document = Document(id="d", text=text)
    passage = document.passage(start, end)
    assert document.text[passage.start:passage.end] == passage.text
    passage.check_against(document)
    assert from_dict(Passage, to_dict(passage)) == passage


def test_a_passage_with_a_wrong_span_cannot_exist():
    with pytest.raises(SpanError):
        Passage(doc_id="d", start=0, end=5, text="abc")
    document = Document(id="d", text="Hello world")
    with pytest.raises(SpanError, match="not 'world'"):
        Passage(doc_id="d", start=0, end=5, text="world").check_against(document)


def test_document_needs_an_id_and_text():
    with pytest.raises(ValueError):
        Document(id="", text="x")
    with pytest.raises(TypeError, match="must be a string"):
        Document(id="d", text=b"bytes")  # type: ignore[arg-type]


def test_answer_checks_claim_and_marker_spans():
    answer = Answer("Paris is in France [1].")
    marker = CitationMarker(19, 22, "[1]", ("a",))
    good = Claim(answer.text, 0, len(answer.text), "Paris is in France.", (marker,))
    answer.check_claim(good)
    with pytest.raises(SpanError):
        answer.check_claim(Claim("Paris", 1, 6, "Paris"))


def _report() -> Report:
    documents = (Document("a", "Paris is in France.", "Paris", {"url": "https://example.org"}),)
    answer = Answer("Paris is in France [1].", "Where is Paris?")
    marker = CitationMarker(19, 22, "[1]", ("a",), ())
    claim = Claim(answer.text, 0, len(answer.text), "Paris is in France.", (marker,))
    verdict = Verdict("supported", 0.93, "lexical@0.75")
    evidence = Evidence((documents[0].passage(),), verdict)
    result = ClaimResult(claim, evidence, CitationCheck(("a",), 1.0, ("a",)), evidence, ())
    return Report(answer, documents, (result,), {"citation_recall": 1.0}, "lexical@0.75", id="r1")


def test_report_round_trips_through_json():
    report = _report()
    assert Report.from_json(report.to_json()) == report


def test_from_dict_rejects_unknown_fields_and_bad_spans():
    data = _report().to_dict()
    data["surprise"] = 1
    with pytest.raises(ValueError, match="unknown fields"):
        Report.from_dict(data)
    data = _report().to_dict()
    data["documents"][0]["text"] = "changed"
    data["claims"][0]["support"]["passages"][0]["end"] = 3
    with pytest.raises(SpanError):
        Report.from_dict(data)


def test_records_refuse_to_write_nan_as_json():
    import math

    report = Report(Answer("a"), (), (), {"citation_recall": math.nan}, "v")
    with pytest.raises(ValueError, match="JSON"):
        report.to_json()
