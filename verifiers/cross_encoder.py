"""A cross-encoder verifier: any Hugging Face sequence-classification checkpoint scores
(evidence, claim) pairs.

Works with NLI models (DeBERTa-MNLI, ...), MiniCheck-style binary models and citeline's own
entailment model. Evidence longer than the model's window is split into windows that fit beside
the claim (overlapping token windows, or windows of whole sentences); a claim's support is the
maximum over its windows (as in MiniCheck), because one passage that entails the claim is
enough, and a model with a contradiction class also gives the most contradicting window's
P(contradiction). With ``max_windows``, only the windows that share most content words with the
claim are scored: long evidence then costs a bounded amount.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict
from citeline.verifiers.base import Pair
from citeline.verifiers.loading import measured_precision, with_precision
from citeline.verifiers.runtime import TorchEncoder, check_runtime, load_onnx, model_labels, onnx_precision
from citeline.verifiers.windows import Span, evidence_windows, most_overlapping_indices

SUPPORT_HINTS = ("entail", "support", "attributable", "consistent")
CONTRADICTION_HINTS = ("contradict", "refute")
EXACT_SUPPORT_NAMES = frozenset(
    {"entailment", "entailed", "entails", "supported", "supports", "support", "attributable", "consistent"}
)
_NEGATED = re.compile(r"\b(not|non|no)\b|^(un|in|non|dis)")


class LabelError(ValueError):
    """The checkpoint's labels do not say which one means 'supported'."""


def find_support_label(id2label: Mapping[Any, str], override: int | str | None = None) -> int | None:
    """Index of the 'supported' class, or None for a one-logit model (read through a sigmoid).

    ``override`` (an index or a label name) wins; otherwise the label whose name contains
    entail/support/attributable/consistent without a negation ("not_entailment" does not count).
    """
    labels = {int(i): str(name) for i, name in id2label.items()}
    if override is not None:
        return _resolve_override(labels, override)
    if len(labels) == 1:
        return None
    positive = [i for i, name in labels.items() if _names_support(name)]
    if len(positive) > 1:
        exact = [i for i in positive if _normalise(labels[i]).replace(" ", "_") in EXACT_SUPPORT_NAMES]
        positive = exact if len(exact) == 1 else positive
    if len(positive) != 1:
        found = "several" if positive else "no"
        raise LabelError(
            f"{found} 'supported' label among the model's labels {labels}: say which class means the "
            f"evidence supports the claim, by index or name: --verifier MODEL#1 on the command line, "
            f"entailment_label=1 in Python")
    return positive[0]


def find_contradiction_label(id2label: Mapping[Any, str]) -> int | None:
    """Index of a 'contradiction' class (contradict / refute), or None where the model has none."""
    found = [int(i) for i, name in id2label.items() if any(h in _normalise(str(name)) for h in CONTRADICTION_HINTS)]
    return found[0] if len(found) == 1 else None


def _normalise(name: str) -> str:
    return re.sub(r"[_\-\s]+", " ", name.strip().lower())


def _names_support(name: str) -> bool:
    text = _normalise(name)
    return any(h in text for h in SUPPORT_HINTS) and not _NEGATED.search(text)


def _resolve_override(labels: dict[int, str], override: int | str) -> int:
    if isinstance(override, int) or str(override).isdigit():
        index = int(override)
        if index not in labels:
            raise LabelError(f"entailment_label={override!r} is not one of the model's classes {labels}")
        return index
    matches = [i for i, name in labels.items() if _normalise(name) == _normalise(str(override))]
    if not matches:
        raise LabelError(f"entailment_label={override!r} is not one of the model's labels {labels}")
    return matches[0]


def pair_key(evidence: str, claim: str) -> str:
    """Cache key of a pair: a hash, so a cache of long evidence stays small."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(evidence.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(claim.encode("utf-8"))
    return digest.hexdigest()


MAX_CACHED_PAIRS = 200_000  # a server meets new pairs forever: past this many, a cache starts over


def through_cache(cache: dict[str, Any], pairs: Sequence[Pair], compute: Callable[[list[Pair]], list]) -> list:
    """``compute(pairs)`` with the pairs seen before taken from ``cache`` (bounded, in place)."""
    keys = [pair_key(e, c) for e, c in pairs]
    todo = {k: pair for k, pair in zip(keys, pairs) if k not in cache}
    if todo:
        if len(cache) + len(todo) > MAX_CACHED_PAIRS:
            kept = {k: cache[k] for k in keys if k in cache}
            cache.clear()
            cache.update(kept)
        cache.update(zip(todo, compute(list(todo.values()))))
    return [cache[k] for k in keys]


class PairScores(NamedTuple):
    """One pair's scores. A claim of several sentences is checked sentence by sentence: it is
    supported as far as its least supported sentence is, contradicted as far as its most
    contradicted one is."""
    support: float  # P(supported): per claim sentence the best window, then the weakest sentence
    contradiction: float | None  # the same for P(contradicted); None for a model without that class
    window: Span | None  # the evidence span that decided support (None: no evidence)


@dataclass(frozen=True)
class _Chunk:
    pair: int  # index of the pair it belongs to
    sentence: int  # index of the claim sentence
    evidence: str
    span: Span  # where ``evidence`` is in the pair's evidence
    claim: str


class CrossEncoderVerifier:
    """Scores pairs with a sequence-classification checkpoint, given by hub name or local path.

    ``__init__`` only stores settings; the model loads once, in ``warm_up()`` or on the first
    ``verify``. ``windows``: "tokens" (overlapping token windows) or "sentences" (windows of
    whole sentences); ``split_claims``: check a claim of several sentences sentence by sentence;
    ``runtime``: where the forward pass runs (see runtime.py): "auto" is ONNX Runtime for a local
    folder in float32 where onnxruntime is installed, else torch.
    """

    def __init__(self, model_name_or_path: str | Path, batch_size: int = 32, max_length: int = 256,
                 threshold: float = 0.5, num_threads: int | None = None, device: str = "cpu",
                 entailment_label: int | str | None = None, overlap: float = 0.25,
                 max_windows: int | None = None, precision: str = "auto", name: str | None = None,
                 windows: str = "tokens", split_claims: bool = False, runtime: str = "auto") -> None:
        self.model_name_or_path = str(model_name_or_path)
        self.batch_size = batch_size
        self.max_length = max_length
        self.threshold = threshold
        self.num_threads = num_threads
        self.device = device
        self.entailment_label = entailment_label
        self.overlap = overlap
        self.max_windows = max_windows  # None: every window
        self.precision = precision  # "auto": whichever of float32 and bfloat16 is faster here (measured)
        self.runtime = check_runtime(runtime)  # "auto": ONNX Runtime for a local folder in float32 (runtime.py)
        self.windows = windows
        self.split_claims = split_claims
        self.name = name or f"cross-encoder:{self.model_name_or_path}"
        self.chunks_scored = 0  # model work done so far; the cache keeps repeats at zero
        self._cache: dict[str, PairScores] = {}
        self._window_cache: dict[str, tuple[float, float]] = {}  # (window, claim sentence) -> scores
        self._model: Any = None
        self._tokenizer: Any = None
        self._support_index: int | None = None
        self._contradiction_index: int | None = None

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, **settings: Any) -> CrossEncoderVerifier:
        """Wrap a model already in memory (e.g. one being trained); it is not copied."""
        verifier = cls(getattr(model, "name_or_path", "in-memory"), **settings)
        verifier._use(model, tokenizer)
        return verifier

    def warm_up(self) -> None:
        self._load()

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        return [Verdict(SUPPORTED if s.support >= self.threshold else NOT_SUPPORTED, s.support, self.name,
                        s.contradiction, s.window) for s in self.scores(pairs)]

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """P(supported) per pair, in input order."""
        return [s.support for s in self.scores(pairs)]

    def scores(self, pairs: Sequence[Pair]) -> list[PairScores]:
        """Support, contradiction and deciding window per pair; pairs seen before come from the cache."""
        return through_cache(self._cache, pairs, self._score_uncached)

    def clear_cache(self) -> None:
        self._cache.clear()
        self._window_cache.clear()

    def _score_uncached(self, pairs: list[Pair]) -> list[PairScores]:
        live = [i for i, (evidence, _) in enumerate(pairs) if evidence.strip()]
        if live:
            self._load()
        # Empty evidence supports nothing; no need to ask the model.
        results = [PairScores(0.0, None if self._contradiction_index is None else 0.0, None)] * len(pairs)
        if not live:
            return results
        chunks = self._chunk([pairs[i] for i in live])
        support: dict[tuple[int, int], tuple[float, Span]] = {}  # (pair, claim sentence) -> best window
        contradiction: dict[tuple[int, int], float] = {}
        for chunk, (p_support, p_contradiction) in zip(chunks, self._score_chunks(chunks)):
            key = (chunk.pair, chunk.sentence)
            if key not in support or p_support > support[key][0]:
                support[key] = (p_support, chunk.span)
            contradiction[key] = max(contradiction.get(key, 0.0), p_contradiction)
        by_pair: dict[int, list[tuple[int, int]]] = {}
        for key in support:
            by_pair.setdefault(key[0], []).append(key)
        for pair, sentences in by_pair.items():
            weakest = min(sentences, key=lambda key: support[key][0])
            contradicted = max(contradiction[key] for key in sentences) \
                if self._contradiction_index is not None else None
            results[live[pair]] = PairScores(support[weakest][0], contradicted, support[weakest][1])
        return results

    def _claim_sentences(self, claim: str) -> list[str]:
        if not self.split_claims:
            return [claim]
        from citeline.core.sentences import RegexSentenceSplitter

        return [claim[start:end] for start, end in RegexSentenceSplitter().split(claim)] or [claim]

    def _chunk(self, pairs: list[Pair]) -> list[_Chunk]:
        units = [(i, k, pair[0], sentence) for i, pair in enumerate(pairs)
                 for k, sentence in enumerate(self._claim_sentences(pair[1]))]
        spans = evidence_windows(self._tokenizer, [u[2] for u in units], [u[3] for u in units], self.max_length,
                                 self.windows, self.overlap)
        chunks = []
        for (i, k, evidence, claim), windows in zip(units, spans):
            if self.max_windows:
                texts = [evidence[start:end] for start, end in windows]
                windows = [windows[j] for j in most_overlapping_indices(texts, claim, self.max_windows)]
            chunks += [_Chunk(i, k, evidence[start:end], (start, end), claim) for start, end in windows]
        return chunks

    def _score_chunks(self, chunks: list[_Chunk]) -> list[tuple[float, float]]:
        """Scores per chunk. A window scored before against the same claim sentence comes from
        the cache: a checked answer asks for each source alone and among the cited ones, so the
        same window meets the same claim several times."""
        return through_cache(self._window_cache, [(c.evidence, c.claim) for c in chunks], self._score_windows)

    def _score_windows(self, pairs: list[Pair]) -> list[tuple[float, float]]:
        # Longest first, so each batch holds similar lengths and padding wastes little.
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
        scores = [(0.0, 0.0)] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            for i, p in zip(batch, self._forward([pairs[i] for i in batch])):
                scores[i] = p
        self.chunks_scored += len(pairs)
        return scores

    def _forward(self, pairs: list[Pair]) -> list[tuple[float, float]]:
        """(P(supported), P(contradicted) or 0) per (window, claim sentence)."""
        inputs = self._tokenizer([e for e, _ in pairs], [c for _, c in pairs], padding=True,
                                 truncation=True, max_length=self.max_length, return_tensors="np")
        logits = self._model(dict(inputs)).astype(np.float64)
        if self._support_index is None:
            return [(p, 0.0) for p in (1.0 / (1.0 + np.exp(-logits[:, 0]))).tolist()]
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        support = probabilities[:, self._support_index].tolist()
        contradiction = probabilities[:, self._contradiction_index].tolist() \
            if self._contradiction_index is not None else [0.0] * len(pairs)
        return list(zip(support, contradiction))

    def _use(self, model: Any, tokenizer: Any) -> None:
        if self.precision == "auto":
            self.precision = measured_precision(model, self.device)
        self._use_labels(model.config.id2label)
        self._tokenizer = tokenizer
        self._model = TorchEncoder(with_precision(model, self.precision, self.device), "classifier",
                                   self.precision, self.device)

    def _use_labels(self, id2label: Mapping[Any, str]) -> None:
        self._support_index = find_support_label(id2label, self.entailment_label)
        self._contradiction_index = find_contradiction_label(id2label)

    def _load(self) -> None:
        if self._model is not None:
            return
        if self._load_onnx():
            return
        from citeline.core.paths import hub_model_options

        hub = hub_model_options(self.model_name_or_path, "verifier model")  # fails at once if it cannot be had
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as error:
            raise ImportError("the cross-encoder verifier needs torch and transformers: "
                              "pip install 'citeline[models]'") from error
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path, **hub)
            # float32 on CPU: shipped weights may be stored in float16 to halve the download.
            dtype = torch.float32 if self.device == "cpu" else "auto"
            model = AutoModelForSequenceClassification.from_pretrained(self.model_name_or_path, dtype=dtype, **hub)
        except OSError as error:
            raise OSError(f"cannot load verifier model {self.model_name_or_path!r}: give a local folder "
                          f"with config.json, weights and tokenizer, or a Hugging Face model name "
                          f"(needs the hub; set HF_HUB_OFFLINE=1 to use only the local cache)") from error
        self._use(model.to(self.device).eval(), tokenizer)

    def _load_onnx(self) -> bool:
        """Load through ONNX Runtime where the runtime says so (see runtime.load_onnx)."""
        loaded = load_onnx(self.model_name_or_path, "classifier", self.runtime, self.precision, self.device,
                           self.num_threads)
        if loaded is None:
            return False
        self._model, self._tokenizer = loaded
        self._use_labels(model_labels(self.model_name_or_path))
        self.precision = onnx_precision(self.precision)
        return True
