"""Retrieval with real models and optional extras: MiniLM dense, spaCy chunking, LangChain, ColBERT."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from citeline.core.sentences import RegexSentenceSplitter
from citeline.core.types import Document
from citeline.retrievers import (
    BM25sRetriever,
    ColBERTRetriever,
    DenseRetriever,
    SentenceWindowChunker,
    as_langchain_retriever,
    build_index,
    collect_passages,
    from_langchain,
    load_index,
)
from citeline.retrievers.colbert import ColBERTError

DOCS = [
    Document("paris", "Paris is the capital of France. The Eiffel Tower is there."),
    Document("berlin", "Berlin is the capital of Germany. The Brandenburg Gate stands there."),
    Document("tax", "Income tax rose in 2019. Revenue grew by five percent."),
    Document("cats", "Cats are small domesticated carnivorous mammals. They purr."),
    Document("python", "The Python programming language was created by Guido van Rossum."),
]


def passages():
    return collect_passages(DOCS, SentenceWindowChunker(2, 1, RegexSentenceSplitter()))


@pytest.mark.slow
def test_spacy_chunks_are_exact_spans():
    text = "Dr. Smith went to Washington. He arrived at 5 p.m.\n\n- A list item\n- Another one!  Trailing."
    document = Document("d", text)
    chunks = SentenceWindowChunker(size=2, stride=1).chunk(document)
    assert chunks and all(text[p.start:p.end] == p.text for p in chunks)


@pytest.mark.slow
def test_dense_minilm_finds_paraphrases(tmp_path):
    dense = DenseRetriever().index(passages())
    assert dense.search("Which city is Germany's seat of government?", k=1)[0].passage.doc_id == "berlin"
    assert dense.search("a pet that purrs", k=1)[0].passage.doc_id == "cats"
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(f'{{"id": "{d.id}", "text": "{d.text}"}}\n' for d in DOCS))
    build_index(corpus, tmp_path / "idx", backend="dense", progress=False,
                chunker=SentenceWindowChunker(2, 1, RegexSentenceSplitter()))
    assert load_index(tmp_path / "idx").search("feline animals", k=1)[0].passage.doc_id == "cats"


# --- LangChain --------------------------------------------------------------------------------

def test_citeline_retriever_as_langchain_and_back():
    pytest.importorskip("langchain_core")
    from langchain_core.retrievers import BaseRetriever

    lc = as_langchain_retriever(BM25sRetriever().index(passages()), k=2)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("capital of Germany")
    assert len(docs) == 2 and docs[0].metadata["doc_id"] == "berlin"
    berlin = DOCS[1].text
    assert berlin[docs[0].metadata["start"]:docs[0].metadata["end"]] == docs[0].page_content

    back = from_langchain(lc, name="lc-bm25")
    hits = back.search_batch(["capital of Germany", "tax"], k=1)
    assert hits[0][0].passage.doc_id == "berlin" and hits[0][0].retriever == "lc-bm25"
    assert hits[0][0].passage.start == docs[0].metadata["start"]  # the exact span survives
    assert hits[1][0].passage.doc_id == "tax"


def test_any_langchain_retriever_as_citeline():
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever

    class Fixed(BaseRetriever):
        def _get_relevant_documents(self, query, *, run_manager=None):
            return [LCDocument(page_content=f"about {query}", metadata={"source": "web"}),
                    LCDocument(page_content="other")]

    hits = from_langchain(Fixed()).search("tides", k=5)
    assert [h.passage.text for h in hits] == ["about tides", "other"]
    assert hits[0].passage.doc_id == "web" and hits[1].passage.doc_id.startswith("lc:")
    assert hits[0].score > hits[1].score
    with pytest.raises(ValueError, match="query is empty"):
        from_langchain(Fixed()).search("")


# --- ColBERT ------------------------------------------------------------------------------------

def test_colbert_indexing_that_hangs_is_stopped(tmp_path, monkeypatch):
    """The timeout holds whatever the child does: here a stand-in 'python' that never returns."""
    import citeline.retrievers.colbert as colbert_module

    sleeper = tmp_path / "python"
    sleeper.write_text("#!/bin/sh\nsleep 600\n")
    sleeper.chmod(0o755)
    monkeypatch.setattr(colbert_module, "_require_colbert", lambda: None)
    monkeypatch.setattr(colbert_module, "resolve_checkpoint", lambda checkpoint: checkpoint)
    retriever = ColBERTRetriever("some/checkpoint", timeout=1, python=str(sleeper))
    started = time.perf_counter()
    with pytest.raises(ColBERTError, match="did not finish in 1s and was stopped"):
        retriever.index(passages())
    assert time.perf_counter() - started < 30
    shutil.rmtree(retriever._root)  # kept for the user to read the log; not needed here


def test_colbert_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "colbert", None)  # as if colbert-ai were not installed
    with pytest.raises(ColBERTError, match=r"pip install 'citeline\[colbert\]'"):
        ColBERTRetriever().index(passages())


@pytest.mark.slow
def test_colbert_upstream_failure_is_reported_not_hung(monkeypatch):
    pytest.importorskip("colbert")
    monkeypatch.setenv("CITELINE_COLBERT_NO_SHIM", "1")  # colbert-ai as released, on transformers 5
    with pytest.raises(ColBERTError, match="all_tied_weights_keys"):
        ColBERTRetriever(timeout=600).index(passages())


@pytest.mark.slow
def test_colbert_index_search_save_load(tmp_path):
    pytest.importorskip("colbert")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(f'{{"id": "{d.id}", "text": "{d.text}"}}\n' for d in DOCS * 1))
    built = build_index(corpus, tmp_path / "idx", backend="colbert", progress=False,
                        chunker=SentenceWindowChunker(2, 1, RegexSentenceSplitter()))
    assert built.search("capital of Germany", k=1)[0].passage.doc_id == "berlin"
    loaded = load_index(tmp_path / "idx")
    hits = loaded.search("Who created Python?", k=2)
    assert hits[0].passage.doc_id == "python" and hits[0].retriever == "colbert"
    assert DOCS[4].text[hits[0].passage.start:hits[0].passage.end] == hits[0].passage.text
