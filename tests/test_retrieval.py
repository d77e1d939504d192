"""Retrieval: corpus ingestion and chunking, BM25 engines, dense, fusion, persistence, bad input."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeline.core.sentences import RegexSentenceSplitter
from citeline.core.types import Document, Passage, Verdict
from citeline.retrievers import (
    BM25sRetriever,
    CorpusError,
    CorpusTooLargeError,
    DenseRetriever,
    HybridRetriever,
    IndexLoadError,
    IndexMismatchError,
    RankBM25Retriever,
    RerankedRetriever,
    Retriever,
    SentenceWindowChunker,
    build_index,
    collect_passages,
    load_index,
    read_dataset,
    read_documents,
    read_folder,
    read_jsonl,
    reciprocal_rank_fusion,
)
from citeline.retrievers.bm25 import Tokenizer

REGEX = RegexSentenceSplitter()

DOCS = [
    Document("paris", "Paris is the capital of France. It has the Eiffel Tower. The Seine flows through it."),
    Document("berlin", "Berlin is the capital of Germany. The Brandenburg Gate stands there.\nIt is large."),
    Document("tax", "Income tax rose in 2019. Revenue grew by 5%. Cash from operations fell."),
    Document("blank", "   \n  "),
]


class HashEncoder:
    """A torch-free stand-in for a sentence model: hashed bag of words, L2-normalised."""

    name = "hash-encoder"

    def fingerprint(self) -> str:
        return "hash-v1"

    def encode(self, texts):
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in Tokenizer()(text):
                vectors[row, zlib.crc32(word.encode()) % 64] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)


def passages(size=2, stride=1):
    return collect_passages(DOCS, SentenceWindowChunker(size, stride, REGEX))


# --- corpus and chunking -----------------------------------------------------------------------

sentence = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(sentence, max_size=8), st.sampled_from(["", " ", "  ", "\n", ". ", "! \n"]),
       st.integers(1, 4), st.integers(1, 4))
def test_every_passage_is_an_exact_span_of_its_document(parts, glue, size, stride):
    document = Document("d", glue.join(parts))
    stride = min(stride, size)
    for p in SentenceWindowChunker(size, stride, REGEX).chunk(document):
        assert document.text[p.start:p.end] == p.text
        p.check_against(document)
        assert p.doc_id == "d" and p.text.strip() == p.text and p.text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Alpha beta.", "Gamma delta!", "Why not?", "Q3 rose 5%."]), min_size=1,
                max_size=12), st.integers(1, 4), st.integers(1, 4))
def test_windows_cover_every_sentence(sentences, size, stride):
    stride = min(stride, size)
    document = Document("d", " ".join(sentences))
    spans = REGEX.split(document.text)
    covered = set()
    for p in SentenceWindowChunker(size, stride, REGEX).chunk(document):
        covered |= {s for s in spans if p.start <= s[0] and s[1] <= p.end}
    assert covered == set(spans)


def test_chunks_keep_document_ids_and_metadata():
    ps = passages(size=2, stride=1)
    assert {p.doc_id for p in ps} == {"paris", "berlin", "tax"}  # the blank document gives none
    paris = [p for p in ps if p.doc_id == "paris"]
    assert [p.text for p in paris] == ["Paris is the capital of France. It has the Eiffel Tower.",
                                       "It has the Eiffel Tower. The Seine flows through it."]
    assert paris[1].metadata["chunk"] == 1


def test_bad_window_is_refused():
    with pytest.raises(ValueError, match="stride"):
        SentenceWindowChunker(size=2, stride=3, splitter=REGEX)


def test_read_jsonl_folder_and_dataset(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "One. Two.", "title": "A", "year": 2020}\n\n{"text": "Three."}\n')
    docs = list(read_jsonl(corpus))
    assert [d.id for d in docs] == ["a", "corpus:3"] and docs[0].metadata == {"year": 2020}
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "x.md").write_text("# Title\n\nBody.")
    (folder / "sub" / "y.txt").write_text("Why.")
    (folder / "skip.bin").write_bytes(b"\x00\xff")
    assert [d.id for d in read_folder(folder)] == ["sub/y.txt", "x.md"]
    assert [d.id for d in read_documents(folder)] == ["sub/y.txt", "x.md"]
    rows = [{"doc": "k1", "body": "Some text."}]
    assert list(read_dataset(rows, text_field="body", id_field="doc"))[0].id == "k1"


def test_read_a_datasets_dataset(tmp_path):
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"id": ["u", "v"], "text": ["First one.", "Second one."]})
    assert [d.id for d in read_dataset(data)] == ["u", "v"]
    data.save_to_disk(str(tmp_path / "saved"))
    assert [d.text for d in read_documents(tmp_path / "saved")] == ["First one.", "Second one."]


# --- bad input ------------------------------------------------------------------------------------

def test_empty_corpus_names_the_fix(tmp_path):
    with pytest.raises(CorpusError, match="empty"):
        collect_passages([Document("blank", " ")], SentenceWindowChunker(splitter=REGEX))
    with pytest.raises(CorpusError, match="empty corpus"):
        BM25sRetriever().index([])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(CorpusError, match="--text-field"):
        build_index(tmp_path / "empty.jsonl", tmp_path / "idx", chunker=SentenceWindowChunker(splitter=REGEX))


def test_non_text_documents_name_the_fix(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "fine."}\n{"id": "b", "text": 42}\n')
    with pytest.raises(CorpusError, match=r"line 2: 'text' is int, not text"):
        list(read_jsonl(corpus))
    corpus.write_text('{"id": "a", "body": "x"}\n')
    with pytest.raises(CorpusError, match="--text-field"):
        list(read_jsonl(corpus))
    corpus.write_text('not json\n')
    with pytest.raises(CorpusError, match="line 1: not valid JSON"):
        list(read_jsonl(corpus))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match="not UTF-8 text: convert it"):
        list(read_folder(tmp_path / "bin"))
    with pytest.raises(CorpusError, match="not a Document"):
        collect_passages(["just a string"], SentenceWindowChunker(splitter=REGEX))
    with pytest.raises(CorpusError, match="unknown corpus format"):
        (tmp_path / "c.csv").write_text("a,b")
        list(read_documents(tmp_path / "c.csv"))


def test_corpus_over_the_memory_budget_fails_early_and_names_the_fix():
    many = (Document(str(i), "A sentence about revenue. " * 20) for i in range(10**9))  # endless stream
    with pytest.raises(CorpusTooLargeError, match="split it into parts"):
        collect_passages(many, SentenceWindowChunker(splitter=REGEX), memory_budget=1 << 20)


@pytest.mark.parametrize("make", [RankBM25Retriever, BM25sRetriever, lambda: DenseRetriever(HashEncoder())])
def test_empty_query_and_bad_k_name_the_fix(make):
    retriever = make().index(passages())
    with pytest.raises(ValueError, match="query is empty"):
        retriever.search("   ")
    with pytest.raises(ValueError, match="positive integer"):
        retriever.search("tax", k=0)
    with pytest.raises(TypeError, match="must be a string"):
        retriever.search_batch([None])


def test_unindexed_retriever_says_what_to_do():
    with pytest.raises(RuntimeError, match="index"):
        BM25sRetriever().search("tax")


# --- BM25 ---------------------------------------------------------------------------------------

def _ranking(hits):
    return [(h.passage.doc_id, h.passage.start, round(h.score, 4)) for h in hits]


words = st.sampled_from("revenue profit tax cash debt equity asset loss margin growth the of a 2019".split())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=25), min_size=1, max_size=40),
       st.lists(words, min_size=1, max_size=5))
def test_rank_bm25_and_bm25s_rank_the_same(texts, query_words):
    if all(set(t) <= {"the", "of", "a"} for t in texts):
        with pytest.raises(CorpusError, match="no passage has a word"):
            BM25sRetriever().index([Passage("0", 0, 3, "the")])
        return
    corpus = [Passage(str(i), 0, len(t), t) for i, t in enumerate(" ".join(w) for w in texts)]
    query = " ".join(query_words)
    slow = RankBM25Retriever().index(corpus).search(query, k=10)
    fast = BM25sRetriever().index(corpus).search(query, k=10)
    assert [h.passage for h in slow] == [h.passage for h in fast]
    assert [h.score for h in fast] == pytest.approx([h.score for h in slow], rel=1e-5)  # bm25s: float32


def test_bm25_finds_the_right_passage():
    for retriever in (RankBM25Retriever(), BM25sRetriever()):
        hits = retriever.index(passages()).search("capital of Germany", k=3)
        assert hits[0].passage.doc_id == "berlin" and hits[0].rank == 0 and hits[0].retriever == retriever.name
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
        assert isinstance(retriever, Retriever)
    assert BM25sRetriever().index(passages()).search("the of", k=3) == []  # only stop words


# --- dense, fusion, reranking ---------------------------------------------------------------------

def test_dense_with_an_injected_encoder():
    dense = DenseRetriever(HashEncoder(), chunk_size=2).index(passages())
    hits = dense.search_batch(["Eiffel Tower Seine", "income tax revenue"], k=2)
    assert hits[0][0].passage.doc_id == "paris" and hits[1][0].passage.doc_id == "tax"
    assert len(hits[0]) == 2 and hits[0][0].score >= hits[0][1].score


def test_reciprocal_rank_fusion_sums_reciprocal_ranks():
    ps = passages()
    from citeline.core.types import Hit

    a = [Hit(ps[0], 9, "a"), Hit(ps[1], 8, "a")]
    b = [Hit(ps[1], 0.9, "b"), Hit(ps[2], 0.8, "b")]
    fused = reciprocal_rank_fusion([a, b], k=60)
    assert [p for p, _ in fused] == [ps[1], ps[0], ps[2]]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_hybrid_and_rerank_compose():
    ps = passages()
    hybrid = HybridRetriever([BM25sRetriever().index(ps), DenseRetriever(HashEncoder()).index(ps)], depth=5)
    assert hybrid.name == "hybrid(bm25s,dense)"
    assert hybrid.search("Brandenburg Gate", k=2)[0].passage.doc_id == "berlin"

    class PrefersTax:
        name = "prefers-tax"

        def verify(self, pairs):
            return [Verdict("supported" if "tax" in e.lower() else "not_supported",
                            0.9 if "tax" in e.lower() else 0.1, self.name) for e, _ in pairs]

    reranked = RerankedRetriever(hybrid, PrefersTax(), depth=10).search("capital", k=3)
    assert reranked[0].passage.doc_id == "tax" and reranked[0].score == 0.9
    assert reranked[0].retriever == "rerank(hybrid(bm25s,dense),prefers-tax)"


# --- persistence ---------------------------------------------------------------------------------

def _corpus_file(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in DOCS))
    return path


@pytest.mark.parametrize("backend", ["bm25", "bm25s"])
def test_build_save_load_search(tmp_path, backend):
    out = tmp_path / "idx"
    chunker = SentenceWindowChunker(2, 1, REGEX)
    built = build_index(_corpus_file(tmp_path), out, backend=backend, chunker=chunker, progress=False)
    loaded = load_index(out)
    assert type(loaded) is type(built)
    assert _ranking(loaded.search("capital of France")) == _ranking(built.search("capital of France"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == backend and manifest["corpus"]["passages"] == len(built.passages)
    with pytest.raises(FileExistsError, match="--overwrite"):
        build_index(_corpus_file(tmp_path), out, backend=backend, chunker=chunker, progress=False)
    build_index(_corpus_file(tmp_path), out, backend=backend, chunker=chunker, progress=False, overwrite=True)


def _dense_index(tmp_path, monkeypatch):
    import citeline.retrievers.index as index_module
    from citeline.retrievers import dense

    monkeypatch.setattr(dense, "SentenceTransformerEncoder", lambda name: HashEncoder())
    monkeypatch.setattr(dense, "model_fingerprint", lambda name: "hash-v1")
    out = tmp_path / "idx"
    build_index(_corpus_file(tmp_path), out, backend="hybrid", chunker=SentenceWindowChunker(2, 1, REGEX),
                progress=False)
    return out, index_module


def test_hybrid_index_round_trip(tmp_path, monkeypatch):
    out, _ = _dense_index(tmp_path, monkeypatch)
    loaded = load_index(out)
    assert isinstance(loaded, HybridRetriever) and loaded.search("Seine", k=1)[0].passage.doc_id == "paris"


def test_index_refuses_another_model(tmp_path, monkeypatch):
    out, _ = _dense_index(tmp_path, monkeypatch)
    with pytest.raises(IndexMismatchError, match="built with the dense model 'hash-encoder', not 'other'"):
        load_index(out, model="other")
    monkeypatch.setattr(HashEncoder, "fingerprint", lambda self: "hash-v2")  # the weights changed
    with pytest.raises(IndexMismatchError, match="another version of 'hash-encoder'.*rebuild"):
        load_index(out)


def test_index_refuses_another_format_or_a_modified_corpus(tmp_path):
    out = tmp_path / "idx"
    build_index(_corpus_file(tmp_path), out, chunker=SentenceWindowChunker(2, 1, REGEX), progress=False)
    passages_file = out / "passages.jsonl"
    passages_file.write_text(passages_file.read_text().replace("Paris", "Paros"))
    with pytest.raises(IndexLoadError, match="modified.*rebuild"):
        load_index(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["format_version"] = 99
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rebuild it with `citeline index build`"):
        load_index(out)
    with pytest.raises(IndexLoadError, match="not a citeline index"):
        load_index(tmp_path)


def test_a_model_for_an_index_without_one_is_refused(tmp_path):
    out = tmp_path / "idx"
    build_index(_corpus_file(tmp_path), out, chunker=SentenceWindowChunker(2, 1, REGEX), progress=False)
    with pytest.raises(IndexMismatchError, match="uses no model: search it without --model"):
        load_index(out, model="all-MiniLM-L6-v2")


# --- CLI ------------------------------------------------------------------------------------------

def test_cli_build_search_info(tmp_path, capsys):
    from citeline.pipeline.cli import main

    out = tmp_path / "idx"
    corpus = _corpus_file(tmp_path)
    assert main(["index", "build", str(corpus), "--out", str(out), "--splitter", "regex", "--no-progress"]) == 0
    assert "passages with bm25s" in capsys.readouterr().out
    assert main(["index", "search", str(out), "capital", "of", "France", "-k", "2", "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["doc_id"] == "paris" and hits[0]["rank"] == 1
    text = corpus.read_text()
    assert json.loads(text.splitlines()[0])["text"][hits[0]["start"]:hits[0]["end"]] == hits[0]["text"]
    assert main(["index", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "bm25s"
    assert main(["index", "search", str(out), " "]) == 2
    assert "query is empty" in capsys.readouterr().err
    assert main(["index", "search", str(tmp_path), "x"]) == 2
    assert "not a citeline index" in capsys.readouterr().err
    assert main(["index", "build", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "no such corpus" in capsys.readouterr().err


def test_cli_help_does_not_import_heavy_modules():
    import subprocess
    import sys

    code = ("import sys; from citeline.pipeline.cli import build_parser; import citeline.retrievers; "
            "build_parser(); heavy = [m for m in ('torch', 'spacy', 'faiss', 'bm25s', 'sentence_transformers', "
            "'colbert', 'langchain_core') if m in sys.modules]; print(heavy); assert not heavy")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


class ToyModelRetriever:
    """A model-bearing retriever that is neither dense nor ColBERT: BM25 with a named 'model'."""

    name = "toy"
    weights = "toy-v1"

    def __init__(self, model: str = "toy-model") -> None:
        from citeline.retrievers.bm25 import BM25sRetriever

        self.model, self.inner = model, BM25sRetriever()

    def config(self):
        return {"kind": "toy", "model": self.model, "fingerprint": ToyModelRetriever.weights}

    def index(self, passages, progress=False):
        self.inner.index(passages)
        self.passages = self.inner.passages
        return self

    def save(self, folder):
        self.inner.save(folder)

    def load(self, folder, passages):
        self.inner = self.inner.load(folder, passages)
        return self

    def search(self, query, k=10):
        return self.inner.search(query, k)

    def search_batch(self, queries, k=10):
        return self.inner.search_batch(queries, k)


@pytest.fixture
def toy_retriever(monkeypatch):
    from citeline.retrievers.registry import RETRIEVERS

    RETRIEVERS.add("toy", f"{__name__}:ToyModelRetriever", "a test retriever", options=("model",))
    yield
    RETRIEVERS.remove("toy")


def test_a_registered_retriever_is_built_saved_and_checked_by_its_own_fingerprint(tmp_path, toy_retriever,
                                                                                   monkeypatch):
    # One registration is all `index build` needs; the old code fingerprinted any model-bearing
    # retriever that was not dense as a ColBERT checkpoint.
    from citeline.pipeline.cli import main
    from citeline.retrievers import colbert

    monkeypatch.setattr(colbert, "checkpoint_fingerprint", lambda name: pytest.fail("fingerprinted as ColBERT"))
    out = tmp_path / "idx"
    assert main(["index", "build", str(_corpus_file(tmp_path)), "--out", str(out), "--backend", "toy",
                 "--model", "toy-model", "--splitter", "regex", "--no-progress"]) == 0
    assert load_index(out).search("Seine", k=1)[0].passage.doc_id == "paris"
    monkeypatch.setattr(ToyModelRetriever, "weights", "toy-v2")
    with pytest.raises(IndexMismatchError, match="another version of 'toy-model'"):
        load_index(out)


def test_a_model_given_to_a_retriever_without_one_is_refused():
    from citeline.retrievers.registry import make_retriever

    with pytest.raises(ValueError, match="bm25s retriever uses no model"):
        make_retriever("bm25s", "some-model")
