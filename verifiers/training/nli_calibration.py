"""Calibrate the entailment model together with the presence signals, on two kinds of dev data.

AttributionBench dev rewards presence (an unsupported claim there usually names something the
evidence lacks); the contrast set's calibration slice rewards reading (a negated or altered claim
shares every word with its evidence). A calibrator fitted on AttributionBench alone learns to
ignore the entailment model, so both count: each set carries ``contrast_weight`` and
1 - ``contrast_weight`` of the total sample weight, and the threshold maximises the mean of the two
sets' scores, out of fold. Neither the contrast set's "report" slice nor AttributionBench's test
sample is read here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from citeline.core.checks import from_fields

DEFAULT_FEATURES = ("cross_encoder_logit", "contradiction_logit", "sentence_similarity", "token_recall",
                    "number_overlap")
CONTRAST_KINDS = ("negation", "number", "entity")


@dataclass
class CalibrationConfig:
    features: list[str] = field(default_factory=lambda: list(DEFAULT_FEATURES))
    contrast_weight: float = 0.5  # share of the sample weight on the contrast slice
    folds: int = 5
    seed: int = 13
    attributionbench_dir: str = "../shared/data/attributionbench"
    # at inference (and so for the calibrator's features): score only this many evidence windows per
    # claim sentence, those sharing most content words with it (None: all); chosen on AttributionBench
    # dev by benchmarks/verifier.py --variants
    max_windows: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationConfig:
        return from_fields(cls, data, "calibration config")


@dataclass
class DevSet:
    """Rows from both dev sets with what the calibrator and the scores need."""
    pairs: list[tuple[str, str]]
    labels: list[int]
    groups: list[str]  # folds keep a group together (a question; an original and its edits)
    strata: list[str]
    origin: list[str]  # "attributionbench" or "contrast"
    examples: list[Any]  # AttributionBench Example, or the contrast row
    rows: list[list[float]] = field(default_factory=list)  # FEATURES-ordered signals


def load_dev(config: CalibrationConfig, contrast_path: Path) -> DevSet:
    from citeline.evals.attributionbench import load_examples
    from citeline.evals.contrast import load_rows

    dev = load_examples("dev", config.attributionbench_dir)
    contrast = load_rows(contrast_path, "calibration")
    return DevSet(
        pairs=[e.pair for e in dev] + [(r["evidence"], r["claim"]) for r in contrast],
        labels=[int(e.attributable) for e in dev] + [int(r["supported"]) for r in contrast],
        groups=[f"ab:{e.src_dataset}:{e.question}" for e in dev] + [f"contrast:{r['pair_id']}" for r in contrast],
        strata=[f"{e.src_dataset}:{e.attributable}" for e in dev] + [f"contrast:{r['supported']}" for r in contrast],
        origin=["attributionbench"] * len(dev) + ["contrast"] * len(contrast),
        examples=[*dev, *contrast])


def compute_rows(dev: DevSet, model_dir: Path, settings: dict[str, Any]) -> list[list[float]]:
    """Every signal of calibrated.FEATURES per row, computed as the shipped verifier computes them."""
    from citeline.verifiers.calibrated import feature_rows, networks, statement

    statements = [(e, statement(c)) for e, c in dev.pairs]
    cross_encoder, similarity = networks(model_dir, settings)
    embedding = similarity.signals(statements)
    return feature_rows(dev.pairs, cross_encoder.scores(statements), embedding)


def weights_of(dev: DevSet, contrast_weight: float) -> list[float]:
    n_contrast = dev.origin.count("contrast")
    n_bench = len(dev.origin) - n_contrast
    share = {"contrast": contrast_weight * len(dev.origin) / max(n_contrast, 1),
             "attributionbench": (1 - contrast_weight) * len(dev.origin) / max(n_bench, 1)}
    return [share[o] for o in dev.origin]


def out_of_fold(dev: DevSet, columns: list[int], config: CalibrationConfig) -> list[float]:
    from sklearn.model_selection import StratifiedGroupKFold

    from citeline.verifiers.calibrated import fit_calibrator

    x = [[row[c] for c in columns] for row in dev.rows]
    weights = weights_of(dev, config.contrast_weight)
    predictions = [0.0] * len(x)
    folding = StratifiedGroupKFold(config.folds, shuffle=True, random_state=config.seed)
    for train, test in folding.split(x, dev.strata, dev.groups):
        calibrator = fit_calibrator([x[i] for i in train], [dev.labels[i] for i in train],
                                    [str(c) for c in columns], weights=[weights[i] for i in train])
        for i in test:
            predictions[i] = calibrator.probability(x[i])
    return predictions


def scores_at(dev: DevSet, probabilities: Sequence[float], threshold: float) -> dict[str, Any]:
    """AttributionBench ID-Avg and the contrast slice's per-kind macro-F1 at one threshold."""
    from citeline.evals.attributionbench import score_predictions
    from citeline.evals.contrast import score_rows

    bench = [i for i, o in enumerate(dev.origin) if o == "attributionbench"]
    contrast = [i for i, o in enumerate(dev.origin) if o == "contrast"]
    bench_score = score_predictions([dev.examples[i] for i in bench], [probabilities[i] >= threshold for i in bench])
    kinds, accepted = score_rows([dev.examples[i] for i in contrast], [probabilities[i] >= threshold for i in contrast])
    contrast_mean = sum(kinds[k]["macro_f1"] for k in CONTRAST_KINDS if k in kinds) / len(CONTRAST_KINDS)
    return {"threshold": threshold, "attributionbench_id_avg": bench_score.id_avg,
            "attributionbench": {s.src_dataset: s.macro_f1 for s in bench_score.subsets},
            "contrast_mean": contrast_mean, "contrast": kinds, "originals_accepted": accepted,
            "objective": (bench_score.id_avg + contrast_mean) / 2}


def best_threshold(dev: DevSet, probabilities: Sequence[float]) -> dict[str, Any]:
    candidates = [t / 200 for t in range(10, 191)]
    return max((scores_at(dev, probabilities, t) for t in candidates), key=lambda s: s["objective"])


def calibrate(model_dir: Path, contrast_path: Path, config: CalibrationConfig, settings: dict[str, Any],
              report_to: Path) -> dict[str, Any]:
    """Fit and save ``model_dir/calibrator.json`` and ``citeline.json``; write the dev scores
    (each signal alone, the entailment model alone, the calibrated verifier out of fold)."""
    from citeline.verifiers.calibrated import FEATURES, fit_calibrator

    dev = load_dev(config, contrast_path)
    dev.rows = compute_rows(dev, model_dir, settings)
    columns = [FEATURES.index(f) for f in config.features]
    oof = out_of_fold(dev, columns, config)
    chosen = best_threshold(dev, oof)
    entailment_alone = [1 / (1 + math.exp(-row[FEATURES.index("cross_encoder_logit")])) for row in dev.rows]
    summary = {"features": config.features, "rows": {o: dev.origin.count(o) for o in set(dev.origin)},
               "out_of_fold": chosen, "entailment_model_alone_at_0.5": scores_at(dev, entailment_alone, 0.5),
               "entailment_model_alone_best": best_threshold(dev, entailment_alone)}
    calibrator = fit_calibrator([[row[c] for c in columns] for row in dev.rows], dev.labels, config.features,
                                weights=weights_of(dev, config.contrast_weight),
                                notes=(f"fitted on AttributionBench dev ({dev.origin.count('attributionbench')} rows) "
                                       f"and the contrast set's calibration slice ({dev.origin.count('contrast')} "
                                       f"rows), weight {config.contrast_weight} on the latter; threshold = best "
                                       f"out-of-fold mean of AttributionBench ID-Avg and contrast macro-F1"))
    calibrator.threshold = chosen["threshold"]
    calibrator.save(model_dir)
    (model_dir / "citeline.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    report_to.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary["out_of_fold"], indent=2), flush=True)
    return summary
