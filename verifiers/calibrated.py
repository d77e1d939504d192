"""A calibrated verifier: a small logistic regression over embedding similarity, token alignment
and cheap lexical and numeric signals, optionally with a cross-encoder's support and
contradiction logits (an entailment model stored in the same folder).

Why: on attribution data an unsupported claim usually names something the evidence lacks (an
entity, a figure, a detail), which word, number and token-alignment overlap with the whole
evidence measure directly; the regression turns the mixture into a calibrated P(supported). It
has one weight per feature, stored as JSON next to the settings, so it can be read, refitted and
audited.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict
from citeline.verifiers.base import Pair, split_statement
from citeline.verifiers.cross_encoder import PairScores
from citeline.verifiers.lexical import content_words, overlap
from citeline.verifiers.similarity import EMBEDDING_MODEL, EmbeddingSignals, EmbeddingSimilarity

CALIBRATOR_FILE = "calibrator.json"
# Evidence length is deliberately not a feature: it mostly tells the datasets apart (LFQA's
# evidence is long), a shortcut that fits dev and breaks on other data. has_numbers (the claim
# alone) is one too; it stays available, but the shipped calibrator leaves it out.
FEATURES = ("cross_encoder_logit", "similarity", "token_recall", "sentence_similarity", "word_overlap",
            "bigram_overlap", "number_overlap", "has_numbers", "contradiction_logit")
CROSS_ENCODER_FEATURES = ("cross_encoder_logit", "contradiction_logit")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:]))


def statement(claim: str) -> str:
    """The claim's last line: earlier lines are context (e.g. the question it answers)."""
    return split_statement(claim)[1]


def lexical_features(evidence: str, claim: str) -> list[float]:
    """Signals that need no model: shares of the statement's words, word pairs and numbers found."""
    claim = statement(claim)
    claim_words, evidence_words = content_words(claim), content_words(evidence)
    claim_pairs = _bigrams(claim_words)
    bigram = len(claim_pairs & _bigrams(evidence_words)) / len(claim_pairs) if claim_pairs else 1.0
    claim_numbers = _numbers(claim)
    number = len(claim_numbers & _numbers(evidence)) / len(claim_numbers) if claim_numbers else 1.0
    return [overlap(evidence, claim), bigram, number, float(bool(claim_numbers))]


def _logit(probability: float) -> float:
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


@dataclass
class Calibrator:
    """Standardised logistic regression: P = sigmoid(bias + sum w_i (x_i - mean_i) / scale_i)."""

    features: list[str]
    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float = 0.5
    notes: str = ""

    def probability(self, row: Sequence[float]) -> float:
        z = self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, row, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / CALIBRATOR_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Calibrator:
        path = Path(folder) / CALIBRATOR_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: fit one with citeline.verifiers.calibrated.fit_calibrator")
        data = json.loads(path.read_text(encoding="utf-8"))
        unknown = [f for f in data["features"] if f not in FEATURES]
        if unknown:
            raise ValueError(f"{path}: unknown features {unknown}; this citeline computes {list(FEATURES)}")
        return cls(**data)

    @property
    def uses_cross_encoder(self) -> bool:
        return any(f in self.features for f in CROSS_ENCODER_FEATURES)

    def select(self, full_rows: list[list[float]]) -> list[list[float]]:
        """Columns of FEATURES-ordered rows that this calibrator reads, in its order."""
        index = [FEATURES.index(f) for f in self.features]
        return [[row[i] for i in index] for row in full_rows]


def feature_rows(pairs: Sequence[Pair], cross_encoder_scores: Sequence[PairScores] | None = None,
                 embedding: Sequence[EmbeddingSignals] | None = None) -> list[list[float]]:
    """One row per pair, in FEATURES order; without model scores, the lexical features only."""
    rows = [lexical_features(e, c) for e, c in pairs]
    if cross_encoder_scores is None or embedding is None:
        return rows
    return [[_logit(s.support), *signals, *row, _logit(s.contradiction or 0.0)]
            for s, signals, row in zip(cross_encoder_scores, embedding, rows)]


def fit_calibrator(rows: list[list[float]], labels: list[int], features: Sequence[str], c: float = 1.0,
                   notes: str = "", weights: Sequence[float] | None = None) -> Calibrator:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(rows, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, labels, sample_weight=weights)
    return Calibrator(list(features), model.coef_[0].tolist(), float(model.intercept_[0]), mean.tolist(),
                      scale.tolist(), notes=notes)


def model_settings(model_dir: str | Path) -> dict[str, Any]:
    """The folder's citeline.json (window sizes, which embedding model), or {} where it has none."""
    path = Path(model_dir) / "citeline.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def embedding_model_of(model_dir: str | Path, settings: dict[str, Any]) -> str:
    """The embedding model a folder uses: a name, or (".") a tuned model stored in the folder."""
    name = settings.get("embedding_model", EMBEDDING_MODEL)
    return str(Path(model_dir) / name) if (Path(model_dir) / name).is_dir() else name


def networks(model_dir: str | Path, settings: dict[str, Any], cross_encoder: bool = True,
             precision: str | None = None, max_windows: int | None = None, runtime: str = "auto",
             batch_size: int = 32, num_threads: int | None = None, name: str | None = None) -> tuple[Any, Any]:
    """The folder's cross-encoder (None without one) and embedding model, read as its settings
    say, so that the calibrator is fitted on the signals the verifier will see. ``precision``
    and ``max_windows`` override the settings."""
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    entailment = CrossEncoderVerifier(
        model_dir, batch_size=batch_size, num_threads=num_threads, max_length=settings.get("max_length", 256),
        max_windows=max_windows or settings.get("max_windows"), precision=precision or settings.get("precision", "auto"),
        name=name, windows=settings.get("windows", "tokens"), split_claims=settings.get("split_claims", False),
        runtime=runtime) if cross_encoder else None
    similarity = EmbeddingSimilarity(embedding_model_of(model_dir, settings),
                                     max_length=settings.get("embedding_max_length", 128), batch_size=batch_size,
                                     num_threads=num_threads,
                                     precision=precision or settings.get("embedding_precision", "auto"), runtime=runtime)
    return entailment, similarity


class CalibratedVerifier:
    """citeline's default: embedding similarity and lexical signals (and, where the calibrator
    uses it, a fine-tuned cross-encoder stored in the same folder), combined by the calibrator."""

    def __init__(self, model_dir: str | Path, threshold: float | None = None, batch_size: int = 32,
                 num_threads: int | None = None, precision: str | None = None, name: str | None = None,
                 max_windows: int | None = None, runtime: str = "auto") -> None:
        self.model_dir = Path(model_dir)
        # None: as the model's settings say (citeline.json), else "auto" / every window; see
        # loading.inference_precision and CrossEncoderVerifier
        self.precision = precision
        self.max_windows = max_windows
        self.runtime = runtime  # where both networks run: see runtime.py
        self.threshold = threshold  # None: the threshold stored with the calibrator
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.name = name or f"citeline:{self.model_dir.name}"
        self._cross_encoder: Any = None
        self._similarity: Any = None
        self._calibrator: Calibrator | None = None

    def warm_up(self) -> None:
        self._load()
        for part in (self._cross_encoder, self._similarity):
            if part is not None:
                part.warm_up()

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        calibrator = self._load()
        threshold = calibrator.threshold if self.threshold is None else self.threshold
        probabilities, entailment = self._score(pairs)
        return [Verdict(SUPPORTED if p >= threshold else NOT_SUPPORTED, p, self.name, s.contradiction, s.window)
                for p, s in zip(probabilities, entailment)]

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        return self._score(pairs)[0]

    def _score(self, pairs: Sequence[Pair]) -> tuple[list[float], list[PairScores]]:
        """Calibrated P(supported), and the entailment model's own scores, per pair."""
        calibrator = self._load()
        statements = [(e, statement(c)) for e, c in pairs]
        entailment = self._cross_encoder.scores(statements) if self._cross_encoder \
            else [PairScores(0.5, None, None)] * len(pairs)
        rows = calibrator.select(feature_rows(pairs, entailment, self._similarity.signals(statements)))
        probabilities = [0.0 if not e.strip() else calibrator.probability(row) for (e, _), row in zip(pairs, rows)]
        return probabilities, entailment

    def clear_cache(self) -> None:
        """Forget scored pairs and encoded evidence (e.g. to time a cold run)."""
        for part in (self._cross_encoder, self._similarity):
            if part is not None:
                part.clear_cache()

    def _load(self) -> Calibrator:
        if self._calibrator is None:
            calibrator = Calibrator.load(self.model_dir)
            self._cross_encoder, self._similarity = networks(
                self.model_dir, model_settings(self.model_dir), calibrator.uses_cross_encoder, self.precision,
                self.max_windows, self.runtime, self.batch_size, self.num_threads, self.name)
            self._calibrator = calibrator
        return self._calibrator
