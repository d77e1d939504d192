"""Persistent indexes: build once from a corpus, search many times.

An index folder holds ``manifest.json`` (format version, backend, each component's config and
model, the corpus fingerprint), ``passages.jsonl`` (the exact spans) and one sub-folder per
component with the engine's own files. Loading checks all of it, so an index is never silently
searched with a different model or a modified corpus.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Iterable

from citeline.core.types import Document, Passage
from citeline.retrievers.corpus import (
    SentenceWindowChunker,
    collect_passages,
    corpus_hash,
    read_documents,
    read_passages,
    write_passages,
)
from citeline.retrievers.registry import DEFAULT_RETRIEVER, make_retriever

FORMAT = "citeline-index"
FORMAT_VERSION = 1


class IndexLoadError(RuntimeError):
    """An index folder that cannot be used as it is; the message says how to fix it."""


class IndexMismatchError(IndexLoadError):
    """The index was built with another model, model version or index format."""


def build_index(corpus: str | Path | Iterable[Document], out: str | Path, backend: str = DEFAULT_RETRIEVER,
                model: str | None = None, chunker: SentenceWindowChunker | None = None,
                overwrite: bool = False, progress: bool = True, memory_budget: int | None = None,
                fields: dict[str, str] | None = None):
    """Read, chunk, index and save a corpus; returns the ready retriever."""
    out = Path(out)
    _check_out(out, overwrite)
    retriever = make_retriever(backend, model)  # fails fast on a bad backend, before any work
    chunker = chunker or SentenceWindowChunker()
    passages = collect_passages(read_documents(corpus, **(fields or {})), chunker, memory_budget, progress)
    started = time.perf_counter()
    retriever = _index_parts(retriever, passages, progress)
    source = str(corpus) if isinstance(corpus, (str, Path)) else "<python objects>"
    save_index(retriever, passages, out, {"source": source, "chunker": chunker.config(),
                                          "index_seconds": round(time.perf_counter() - started, 3)})
    return retriever


def _index_parts(retriever, passages: list[Passage], progress: bool):
    for part in getattr(retriever, "retrievers", [retriever]):
        part.index(passages, progress=progress)
    return retriever


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty: pass --overwrite (overwrite=True) "
                                  f"or choose another --out")
        if not (out / "manifest.json").is_file():
            raise FileExistsError(f"{out} is not a citeline index, so it is not overwritten: "
                                  f"choose another --out")
        shutil.rmtree(out)


def save_index(retriever, passages: list[Passage], out: Path, info: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_passages(passages, out / "passages.jsonl")
    parts = getattr(retriever, "retrievers", [retriever])
    for part in parts:
        part.save(out / part.name)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "citeline_version": _citeline_version(),
        "backend": _backend_of(retriever),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": {"hash": corpus_hash(passages), "passages": len(passages),
                   "documents": len({p.doc_id for p in passages}), **info},
        "components": [{"folder": part.name, **part.config()} for part in parts],
        "fusion": retriever.config() if hasattr(retriever, "retrievers") else None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _backend_of(retriever) -> str:
    return "hybrid" if hasattr(retriever, "retrievers") else retriever.name


def read_manifest(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise IndexLoadError(f"{folder} is not a citeline index (no manifest.json): build one with "
                             f"`citeline index build CORPUS --out {folder}`")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{folder} has index format {manifest.get('format')!r} version {manifest.get('format_version')} "
            f"(citeline {manifest.get('citeline_version')}); this citeline reads version {FORMAT_VERSION}: "
            f"rebuild it with `citeline index build`")
    return manifest


def load_index(folder: str | Path, model: str | None = None):
    """The retriever saved in ``folder``, ready to search.

    ``model``, if given, must be the model the index was built with; the model found on disk
    must also still be the same weights (its fingerprint), else the vectors would not match.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    passages = read_passages(folder / "passages.jsonl")
    if corpus_hash(passages) != manifest["corpus"]["hash"]:
        raise IndexLoadError(f"{folder}/passages.jsonl was modified after the index was built: "
                             f"rebuild it with `citeline index build ... --overwrite`")
    if model and not any("model" in spec for spec in manifest["components"]):
        raise IndexMismatchError(f"{folder} is a {manifest['backend']} index, which uses no model: "
                                 f"search it without --model")
    parts = [_load_part(folder, spec, passages, model) for spec in manifest["components"]]
    if manifest["fusion"] is None:
        return parts[0]
    from citeline.retrievers.fusion import HybridRetriever

    fusion = manifest["fusion"]
    return HybridRetriever(parts, rrf_k=fusion["rrf_k"], depth=fusion["depth"], weights=fusion["weights"])


def _load_part(folder: Path, spec: dict[str, Any], passages: list[Passage], model: str | None):
    kind = spec["kind"]
    if "model" in spec:
        _check_model(folder, spec, model)
    return make_retriever(kind, spec.get("model")).load(folder / spec["folder"], passages)


def _check_model(folder: Path, spec: dict[str, Any], requested: str | None) -> None:
    built_with = spec["model"]
    if requested and requested != built_with:
        raise IndexMismatchError(
            f"{folder} was built with the {spec['kind']} model {built_with!r}, not {requested!r}: "
            f"search it without --model, or rebuild it with `citeline index build CORPUS --out DIR "
            f"--backend {spec['kind']} --model {requested} --overwrite`")
    found = make_retriever(spec["kind"], built_with).config().get("fingerprint")  # each kind knows its own
    if found != spec["fingerprint"]:
        raise IndexMismatchError(
            f"{folder} was built with another version of {built_with!r} (fingerprint {spec['fingerprint']}, "
            f"installed now: {found}): its vectors do not match this model; install the model version "
            f"it was built with, or rebuild the index with `citeline index build ... --overwrite`")


def _citeline_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeline")
    except PackageNotFoundError:
        return "unknown"
