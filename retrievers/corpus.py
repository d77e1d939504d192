"""Corpus ingestion and chunking: documents in, passages (exact spans of documents) out.

Readers are generators, so a corpus is never held in memory whole: documents stream from disk
into the chunker, and only passages (what a retriever must return) are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from citeline.core.sentences import SentenceSplitter, SpacySentenceSplitter, splitter_name, window_spans
from citeline.core.types import Document, Passage

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")


class CorpusError(ValueError):
    """A corpus that cannot be read or indexed; the message names the input and the fix."""


class CorpusTooLargeError(CorpusError, MemoryError):
    """The passages of a corpus would not fit in the memory budget."""


def check_passages(passages: Sequence[Passage]) -> list[Passage]:
    passages = list(passages)
    if not passages:
        raise CorpusError("cannot index an empty corpus: pass at least one passage "
                          "(see citeline.retrievers.collect_passages)")
    for number, passage in enumerate(passages):
        if not isinstance(passage, Passage):
            raise CorpusError(f"item {number} of the corpus is a {type(passage).__name__}, not a Passage; "
                              f"chunk documents with collect_passages(...) first")
    return passages


# --- readers ---------------------------------------------------------------------------------

def read_jsonl(path: str | Path, text_field: str = "text", id_field: str = "id",
               title_field: str = "title") -> Iterator[Document]:
    """One document per line: ``{"id"?, "title"?, "text", ...}``; other fields become metadata."""
    path = Path(path)
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(f"{where}: not valid JSON ({error.msg}); fix or remove that line") from None
            yield document_from_record(record, where, f"{path.stem}:{number}", text_field, id_field, title_field)


def read_folder(folder: str | Path, suffixes: Sequence[str] = TEXT_SUFFIXES) -> Iterator[Document]:
    """Every text/markdown file under ``folder`` (recursively, sorted); the id is its relative path."""
    folder = Path(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CorpusError(f"{path} is not UTF-8 text: convert it (e.g. iconv -t UTF-8) or move it "
                              f"out of {folder}") from None
        relative = path.relative_to(folder).as_posix()
        yield Document(id=relative, text=text, title=path.stem, metadata={"path": relative})


def read_dataset(dataset: Iterable[Mapping[str, Any]], text_field: str = "text", id_field: str = "id",
                 title_field: str = "title", name: str = "dataset") -> Iterator[Document]:
    """Rows of a ``datasets.Dataset`` (or any iterable of dicts), streamed row by row."""
    for number, row in enumerate(dataset):
        yield document_from_record(dict(row), f"{name}, row {number}", f"{name}:{number}",
                                   text_field, id_field, title_field)


def document_from_record(record: Any, where: str, default_id: str, text_field: str = "text",
                         id_field: str = "id", title_field: str = "title") -> Document:
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: expected a JSON object with a {text_field!r} field, "
                          f"got {type(record).__name__}")
    if text_field not in record:
        raise CorpusError(f"{where}: no {text_field!r} field (fields: {sorted(record)}); "
                          f"pass the right one with --text-field / text_field=")
    text = record[text_field]
    if not isinstance(text, str):
        raise CorpusError(f"{where}: {text_field!r} is {type(text).__name__}, not text; "
                          f"convert it to a string or drop the record")
    doc_id = record.get(id_field)
    doc_id = default_id if doc_id in (None, "") else str(doc_id)
    title = record.get(title_field) or ""
    metadata = {k: v for k, v in record.items() if k not in (text_field, id_field, title_field)}
    return Document(id=doc_id, text=text, title=str(title), metadata=metadata)


def read_documents(source: str | Path | Iterable[Any], **fields: str) -> Iterator[Document]:
    """Documents from a ``.jsonl`` file, a folder of text files, a saved ``datasets`` folder,
    or an iterable of ``Document`` objects / dicts."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
                return _read_saved_dataset(path, **fields)
            return read_folder(path)
        if path.is_file():
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                return read_jsonl(path, **fields)
            if path.suffix.lower() in TEXT_SUFFIXES:
                return iter([Document(id=path.name, text=path.read_text(encoding="utf-8"), title=path.stem)])
            raise CorpusError(f"{path}: unknown corpus format; use a .jsonl file (one {{\"id\", \"text\"}} "
                              f"per line), a folder of .txt/.md files, or a saved `datasets` folder")
        raise CorpusError(f"no such corpus: {path}")
    return _documents_from_objects(source, **fields)


def _documents_from_objects(items: Iterable[Any], **fields: str) -> Iterator[Document]:
    for number, item in enumerate(items):
        if isinstance(item, Document):
            yield item
        else:
            yield document_from_record(item, f"item {number}", f"doc:{number}", **fields)


def _read_saved_dataset(path: Path, **fields: str) -> Iterator[Document]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        split = "train" if "train" in loaded else next(iter(loaded))
        loaded = loaded[split]
    return read_dataset(loaded, name=path.name, **fields)


# --- chunking --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SentenceWindowChunker:
    """Windows of ``size`` consecutive sentences, each starting ``stride`` sentences after the last.

    Each passage is ``document.text[start:end]`` from its first sentence's start to its last
    sentence's end, so the whitespace between sentences is kept exactly.
    """

    size: int = 3
    stride: int = 2
    splitter: SentenceSplitter = field(default_factory=SpacySentenceSplitter, compare=False)
    batch_size: int = 64  # documents per splitter call (spaCy pipes them)

    def __post_init__(self) -> None:
        if self.size < 1 or not 1 <= self.stride <= self.size:
            raise ValueError(f"window size {self.size} / stride {self.stride}: need size >= 1 and "
                             f"1 <= stride <= size (a larger stride would skip sentences)")

    def config(self) -> dict[str, Any]:
        return {"size": self.size, "stride": self.stride, "splitter": splitter_name(self.splitter)}

    def chunk(self, document: Document) -> list[Passage]:
        return self._windows(document, self.splitter.split(document.text))

    def chunk_many(self, documents: Iterable[Document]) -> Iterator[Passage]:
        for batch in _batched(documents, self.batch_size):
            for document, spans in zip(batch, self.splitter.split_many([d.text for d in batch])):
                yield from self._windows(document, spans)

    def _windows(self, document: Document, spans: list[tuple[int, int]]) -> list[Passage]:
        return [Passage(doc_id=document.id, start=start, end=end, text=document.text[start:end],
                        metadata={"chunk": number, "title": document.title})
                for number, (start, end) in enumerate(window_spans(spans, self.size, self.stride))]


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the passage collection every retriever indexes ------------------------------------------

def default_memory_budget() -> int:
    """Half of the machine's physical memory, in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


# Bytes of RAM per character of passage text once stored, tokenised and indexed (measured roughly
# on English text: the Python string, its token list and a BM25 posting list).
_BYTES_PER_CHAR = 12


def collect_passages(documents: Iterable[Document], chunker: SentenceWindowChunker | None = None,
                     memory_budget: int | None = None, progress: bool = False) -> list[Passage]:
    """Chunk streamed documents into passages, failing early if they would not fit in memory."""
    chunker = chunker or SentenceWindowChunker()
    budget = default_memory_budget() if memory_budget is None else memory_budget
    from citeline.core.progress import track

    stream: Iterable[Any] = track(documents, "chunking", "doc", enabled=progress)
    passages: list[Passage] = []
    used = 0
    for passage in chunker.chunk_many(_checked(stream)):
        used += _BYTES_PER_CHAR * len(passage.text) + 200
        if used > budget:
            raise CorpusTooLargeError(
                f"the corpus needs more than the memory budget of {budget / 2**20:.0f} MiB after "
                f"{len(passages):,} passages: split it into parts and build one index per part "
                f"(then fuse them with HybridRetriever), or raise the budget (--memory-budget-mb)")
        passages.append(passage)
    if not passages:
        raise CorpusError("the corpus is empty: no document has any text to index; "
                          "check the path and the --text-field name")
    return passages


def _checked(documents: Iterable[Any]) -> Iterator[Document]:
    for number, document in enumerate(documents):
        if not isinstance(document, Document):
            raise CorpusError(f"corpus item {number} is a {type(document).__name__}, not a Document; "
                              f"read files with read_documents(...) first")
        yield document


def corpus_hash(passages: Iterable[Passage]) -> str:
    """A fingerprint of the passages (ids, spans and text), stored with every index."""
    digest = hashlib.sha256()
    for p in passages:
        digest.update(json.dumps([p.doc_id, p.start, p.end, p.text], ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def passage_key(passage: Passage) -> tuple[str, int, int]:
    """What identifies a passage across retrievers (for fusion and evaluation)."""
    return passage.doc_id, passage.start, passage.end


def write_passages(passages: Iterable[Passage], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for p in passages:
            out.write(json.dumps({"doc_id": p.doc_id, "start": p.start, "end": p.end, "text": p.text,
                                  "metadata": p.metadata}, ensure_ascii=False) + "\n")


def read_passages(path: Path) -> list[Passage]:
    with path.open(encoding="utf-8") as lines:
        return [Passage(**json.loads(line)) for line in lines if line.strip()]
