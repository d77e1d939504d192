from citeline.evals import rarr as ev
from citeline.pipeline.rarr import RarrConfig, Reviser
from citeline.verifiers.lexical import LexicalVerifier
from tests.rarr_fakes import MemoryRetriever, rarr_llm

ROWS = [
    {"id": "1", "claim": "The Eiffel Tower was finished in 1899.", "attribution_label": "not attributable",
     "references": ["The Eiffel Tower was finished in 1889."]},
    {"id": "2", "claim": "Fleming discovered penicillin.", "attribution_label": "attributable",
     "references": ["Fleming discovered penicillin in 1928.", "The Eiffel Tower was finished in 1889."]},
    {"id": "3", "claim": "No references here.", "attribution_label": "not attributable", "references": [" "]},
]


def test_sample_keeps_the_label_and_needs_references():
    assert [r["id"] for r in ev.sample(ROWS, "not attributable", None)] == ["1"]
    assert [r["id"] for r in ev.sample(ROWS, "attributable", 5)] == ["2"]


def test_reference_corpus_pools_and_deduplicates():
    docs = ev.reference_corpus(ROWS)
    assert [d.text for d in docs] == ["The Eiffel Tower was finished in 1889.",
                                      "Fleming discovered penicillin in 1928."]


def test_revise_split_resumes_and_the_table_row_adds_up(tmp_path):
    llm = rarr_llm("I googled: When was the Eiffel Tower finished?",
                   "Therefore: This disagrees with what you said.",
                   "My fix: The Eiffel Tower was finished in 1889.")
    reviser = Reviser(llm, MemoryRetriever(ev.reference_corpus(ROWS)), LexicalVerifier(1.0),
                      RarrConfig(question_samples=1, gate_mode="reasoning", fallback_edit="none"))
    records = ev.sample(ROWS, "not attributable", None)
    rows = ev.revise_split(reviser, records, tmp_path / "na", progress=False)
    calls = len(llm.requests)
    assert ev.revise_split(reviser, records, tmp_path / "na", progress=False) == rows
    assert len(llm.requests) == calls  # resumed: nothing revised twice
    row = ev.table_row("scripted", "not attributable", rows)
    assert (row["attr before"], row["attr after"], row["edit rate"]) == ("0.000", "1.000", "1.000")
    assert row["Pres_Lev"] == f"{1 - 1 / len(ROWS[0]['claim']):.3f}"
    assert row["LLM calls/claim"] == "3.0"
    rescored = ev.table_row("scripted", "na", ev.rescore(rows, LexicalVerifier(0.1)))
    assert rescored["attr before"] == "1.000"  # a lenient verifier: "1899" no longer matters
    table = ev.markdown([row])
    assert table.splitlines()[0].startswith("| model | texts | n |") and "scripted" in table
