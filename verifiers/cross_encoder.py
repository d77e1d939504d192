"""A cross-encoder verifier: any Hugging Face sequence-classification checkpoint scores
(evidence, claim) pairs.

Works with NLI models (DeBERTa-MNLI, ...), MiniCheck-style binary models and citeline's own
shipped model. Evidence longer than the model's window is split into overlapping token windows
that fit beside the claim; a claim's support is the maximum over its windows (as in MiniCheck),
because one passage that entails the claim is enough. With ``max_windows``, only the windows that
share most content words with the claim are scored: long evidence then costs a bounded amount.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from citeline.core.types import Verdict
from citeline.verifiers.base import Pair, verdict_from_probability

SUPPORT_HINTS = ("entail", "support", "attributable", "consistent")
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


PRECISIONS = ("auto", "float32", "bfloat16")


def inference_precision(precision: str, device: str = "cpu") -> Any:
    """A context that runs the model in ``precision``. "auto": bfloat16 autocast on a CPU that
    computes bfloat16 natively (AVX512-BF16 or AMX; measured here about 2x faster than float32,
    scores within 0.004), float32 elsewhere (emulated bfloat16 is slower)."""
    import contextlib

    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        native = device == "cpu" and any(getattr(torch.cpu, name, lambda: False)() for name in checks)
        precision = "bfloat16" if native else "float32"
    if precision == "float32" or device != "cpu":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)


def pair_key(evidence: str, claim: str) -> str:
    """Cache key of a pair: a hash, so a cache of long evidence stays small."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(evidence.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(claim.encode("utf-8"))
    return digest.hexdigest()


def split_evidence(tokenizer: Any, evidences: Sequence[str], claims: Sequence[str], max_length: int,
                   overlap: float = 0.25) -> list[list[str]]:
    """Each evidence text cut into overlapping windows that fit in ``max_length`` beside its claim.

    Windows are character slices of the original text at token boundaries, so the tokenizer adds
    its own special tokens when the window and the claim are encoded together.
    """
    claim_lengths = [len(ids) for ids in tokenizer(list(claims), add_special_tokens=False)["input_ids"]]
    specials = _pair_special_tokens(tokenizer)
    encoded = tokenizer(list(evidences), add_special_tokens=False, return_offsets_mapping=True)
    windows = []
    for text, offsets, claim_length in zip(evidences, encoded["offset_mapping"], claim_lengths):
        # A very long claim keeps at least half the window for evidence (the tokenizer trims it).
        budget = max(16, max_length - specials - min(claim_length, max_length // 2))
        windows.append(_windows(text, offsets, budget, overlap))
    return windows


def _pair_special_tokens(tokenizer: Any) -> int:
    plain = len(tokenizer("a", add_special_tokens=False)["input_ids"]) * 2
    return len(tokenizer("a", "a")["input_ids"]) - plain


def _windows(text: str, offsets: Sequence[tuple[int, int]], budget: int, overlap: float) -> list[str]:
    if len(offsets) <= budget:
        return [text]
    step = max(1, int(budget * (1 - overlap)))
    chunks = []
    for start in range(0, len(offsets), step):
        end = min(start + budget, len(offsets))
        chunks.append(text[offsets[start][0]:offsets[end - 1][1]])
        if end == len(offsets):
            break
    return chunks


def most_overlapping(windows: list[str], claim: str, k: int) -> list[str]:
    """The ``k`` windows that share most content words with the claim (ties: the earlier one),
    in text order. Training keeps the top one, so these are the inputs the model knows best."""
    if len(windows) <= k:
        return windows
    from citeline.verifiers.lexical import content_words

    claim_words = set(content_words(claim))
    shared = [len(claim_words & set(content_words(w))) for w in windows]
    best = sorted(range(len(windows)), key=lambda i: (-shared[i], i))[:k]
    return [windows[i] for i in sorted(best)]


@dataclass(frozen=True)
class _Chunk:
    pair: int  # index of the pair it belongs to
    evidence: str
    claim: str


class CrossEncoderVerifier:
    """Scores pairs with a sequence-classification checkpoint, given by hub name or local path.

    ``__init__`` only stores settings; the model loads once, on the first ``verify``.
    """

    def __init__(self, model_name_or_path: str | Path, batch_size: int = 32, max_length: int = 256,
                 threshold: float = 0.5, num_threads: int | None = None, device: str = "cpu",
                 entailment_label: int | str | None = None, overlap: float = 0.25,
                 max_windows: int | None = None, precision: str = "auto", name: str | None = None) -> None:
        self.model_name_or_path = str(model_name_or_path)
        self.batch_size = batch_size
        self.max_length = max_length
        self.threshold = threshold
        self.num_threads = num_threads
        self.device = device
        self.entailment_label = entailment_label
        self.overlap = overlap
        self.max_windows = max_windows  # None: every window
        self.precision = precision  # "auto": bfloat16 where the CPU has it natively (see inference_precision)
        self.name = name or f"cross-encoder:{self.model_name_or_path}"
        self.chunks_scored = 0  # model work done so far; the cache keeps repeats at zero
        self._cache: dict[str, float] = {}
        self._model: Any = None
        self._tokenizer: Any = None
        self._support_index: int | None = None

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, **settings: Any) -> CrossEncoderVerifier:
        """Wrap a model already in memory (e.g. one being trained); it is not copied."""
        verifier = cls(getattr(model, "name_or_path", "in-memory"), **settings)
        verifier._model, verifier._tokenizer = model, tokenizer
        verifier._support_index = find_support_label(model.config.id2label, verifier.entailment_label)
        return verifier

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        return [verdict_from_probability(p, self.threshold, self.name) for p in self.score(pairs)]

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """P(supported) per pair, in input order; pairs seen before come from the cache."""
        keys = [pair_key(e, c) for e, c in pairs]
        todo = {k: pair for k, pair in zip(keys, pairs) if k not in self._cache}
        if todo:
            for key, probability in zip(todo, self._score_uncached(list(todo.values()))):
                self._cache[key] = probability
        return [self._cache[k] for k in keys]

    def clear_cache(self) -> None:
        self._cache.clear()

    def _score_uncached(self, pairs: list[Pair]) -> list[float]:
        # Empty evidence supports nothing; no need to ask the model.
        scores = [0.0] * len(pairs)
        live = [i for i, (evidence, _) in enumerate(pairs) if evidence.strip()]
        if not live:
            return scores
        self._load()
        chunks = self._chunk([pairs[i] for i in live])
        for chunk, probability in zip(chunks, self._score_chunks(chunks)):
            index = live[chunk.pair]
            scores[index] = max(scores[index], probability)
        return scores

    def _chunk(self, pairs: list[Pair]) -> list[_Chunk]:
        evidences, claims = zip(*pairs)
        windows = split_evidence(self._tokenizer, evidences, claims, self.max_length, self.overlap)
        if self.max_windows:
            windows = [most_overlapping(w, claim, self.max_windows) for w, claim in zip(windows, claims)]
        return [_Chunk(i, window, claims[i]) for i, pair_windows in enumerate(windows) for window in pair_windows]

    def _score_chunks(self, chunks: list[_Chunk]) -> list[float]:
        import torch

        # Longest first, so each batch holds similar lengths and padding wastes little.
        order = sorted(range(len(chunks)), key=lambda i: -len(chunks[i].evidence) - len(chunks[i].claim))
        probabilities = [0.0] * len(chunks)
        with torch.inference_mode(), inference_precision(self.precision, self.device):
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                for i, p in zip(batch, self._forward([chunks[i] for i in batch])):
                    probabilities[i] = p
        self.chunks_scored += len(chunks)
        return probabilities

    def _forward(self, chunks: list[_Chunk]) -> list[float]:
        import torch

        inputs = self._tokenizer([c.evidence for c in chunks], [c.claim for c in chunks], padding=True,
                                 truncation=True, max_length=self.max_length, return_tensors="pt")
        logits = self._model(**{k: v.to(self.device) for k, v in inputs.items()}).logits.float()
        if self._support_index is None:
            return torch.sigmoid(logits[:, 0]).tolist()
        return torch.softmax(logits, dim=-1)[:, self._support_index].tolist()

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as error:
            raise ImportError("the cross-encoder verifier needs torch and transformers: "
                              "pip install 'citeline[models]'") from error
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path)
            # float32 on CPU: shipped weights may be stored in float16 to halve the download.
            dtype = torch.float32 if self.device == "cpu" else "auto"
            model = AutoModelForSequenceClassification.from_pretrained(self.model_name_or_path, dtype=dtype)
        except OSError as error:
            raise OSError(f"cannot load verifier model {self.model_name_or_path!r}: give a local folder "
                          f"with config.json, weights and tokenizer, or a Hugging Face model name "
                          f"(needs the hub; set HF_HUB_OFFLINE=1 to use only the local cache)") from error
        self._support_index = find_support_label(model.config.id2label, self.entailment_label)
        self._tokenizer = tokenizer
        self._model = model.to(self.device).eval()
