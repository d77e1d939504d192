"""Calibrate the binary verifier, export it, and ``main``: the entry point of
``citeline train-verifier`` for the objectives of ``TrainConfig``.

"calibrator" fits only the calibrator over the stock embedding model's signals and the lexical
ones (``calibrator_features`` picks which), on all of AttributionBench dev (citeline's shipped
model: ``verifiers/configs/citeline_attr.json``); "cross_encoder" fine-tunes a cross-encoder first,
"token_alignment" tunes the embedding model's token recall first (``attribution_trainers``). The run
writes ``train_log.json`` and ``calibration.json`` beside the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from citeline.verifiers.training.attribution_config import TrainConfig
from citeline.verifiers.training.attribution_data import split_attributionbench_dev
from citeline.verifiers.training.attribution_trainers import summarise_scores, train, train_token_alignment


def calibrate(config: TrainConfig, folds: int = 5) -> dict[str, Any]:
    """Fit the calibrator on AttributionBench dev rows that no model here was trained on.

    With a trained model among its inputs (the cross-encoder, or a tuned embedding model), those
    are the held-out rows; with neither, all of dev (the stock embedding model and the lexical
    features never saw it). Out-of-fold predictions on those rows, in folds of whole questions,
    give an honest dev estimate and the threshold; the saved calibrator is then refitted on all
    of them. The untrained signals are scored on the same held-out rows, so the log shows what
    the trained model adds.
    """
    from citeline.evals.attributionbench import load_examples
    from citeline.verifiers.calibrated import FEATURES, fit_calibrator

    out = Path(config.output_dir)
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    objective = config.objective
    dev = load_examples("dev", Path(config.data_dir) / "attributionbench")
    _, held_out = split_attributionbench_dev(dev, config.holdout_fraction, config.seed)
    held_out_ids = {e.id for e in held_out}
    held_out_index = [i for i, e in enumerate(dev) if e.id in held_out_ids]
    rows, stock_rows = _dev_feature_rows(config, model_dir, dev, held_out_index)
    labels = [int(e.attributable) for e in dev]
    (out / "calibration_features.json").write_text(json.dumps(
        {"ids": [e.id for e in dev], "held_out": [e.id in held_out_ids for e in dev], "labels": labels,
         "features": list(FEATURES), "rows": rows}))

    summary = _signal_summaries(config, dev, held_out_index, rows, stock_rows, folds)
    # A trained network saw the other rows, so only the held-out part can calibrate it.
    index = list(range(len(dev))) if objective == "calibrator" else held_out_index
    features = list(config.calibrator_features or config.available_features())
    columns = [FEATURES.index(f) for f in features]
    selected = [[rows[i][c] for c in columns] for i in index]
    chosen = [dev[i] for i in index]
    shipped = {"features": features, **calibrated_summary(chosen, selected, folds, config.seed)}
    part = "held-out part" if objective != "calibrator" else "all"
    calibrator = fit_calibrator(selected, [labels[i] for i in index], features,
                                notes=(f"fitted on {len(index)} AttributionBench dev rows ({part}, seed {config.seed}); "
                                       f"threshold = best out-of-fold mean per-dataset macro-F1"))
    summary["shipped"] = shipped
    calibrator.threshold = shipped["best_threshold"]
    calibrator.save(model_dir)
    (model_dir / "citeline.json").write_text(json.dumps(_inference_settings(config)) + "\n")
    (out / "calibration.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


def _dev_feature_rows(config: TrainConfig, model_dir: Path, dev: list[Any],
                      held_out_index: list[int]) -> tuple[list[list[float]], list[list[float]]]:
    """calibrated.FEATURES per dev row, with the objective's signals and with the stock embedding
    model's. A trained cross-encoder scores only the held-out rows: it was trained on the others."""
    from citeline.verifiers.calibrated import feature_rows, statement
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier, PairScores
    from citeline.verifiers.similarity import EMBEDDING_MODEL, EmbeddingSimilarity

    pairs = [e.pair for e in dev]
    statements = [(e, statement(c)) for e, c in pairs]
    stock = EmbeddingSimilarity(EMBEDDING_MODEL).signals(statements)
    embedding = EmbeddingSimilarity(model_dir, max_length=config.max_length).signals(statements) \
        if config.objective == "token_alignment" else stock
    scores = [PairScores(0.5, None, None)] * len(dev)  # no cross-encoder, or one that was trained on the row
    if config.objective == "cross_encoder":
        cross_encoder = CrossEncoderVerifier(model_dir, max_length=config.max_length,
                                             max_windows=config.max_windows, num_threads=config.num_threads)
        for i, score in zip(held_out_index, cross_encoder.scores([pairs[i] for i in held_out_index])):
            scores[i] = score
    rows = feature_rows(pairs, scores, embedding)
    return rows, rows if embedding is stock else feature_rows(pairs, scores, stock)


def _signal_summaries(config: TrainConfig, dev: list[Any], held_out_index: list[int], rows: list[list[float]],
                      stock_rows: list[list[float]], folds: int) -> dict[str, Any]:
    """What each signal scores with the stock embedding model (held-out part and all of dev) and,
    where a network was trained, with it on the held-out part."""
    held_out_examples = [dev[i] for i in held_out_index]
    summary = {"held_out_stock_embedding": signal_summary(held_out_examples, [stock_rows[i] for i in held_out_index],
                                                          folds, config.seed, with_cross_encoder=False),
               "all_dev_stock_embedding": signal_summary(dev, stock_rows, folds, config.seed, with_cross_encoder=False)}
    if config.objective != "calibrator":
        summary["held_out"] = signal_summary(held_out_examples, [rows[i] for i in held_out_index], folds,
                                             config.seed, with_cross_encoder=config.objective == "cross_encoder")
    return summary


def _inference_settings(config: TrainConfig) -> dict[str, Any]:
    """How the verifier reads the model folder (its citeline.json)."""
    from citeline.verifiers.similarity import EMBEDDING_MODEL

    if config.objective == "token_alignment":  # the tuned embedding model is this folder
        return {"embedding_model": ".", "embedding_max_length": config.max_length}
    settings: dict[str, Any] = {"embedding_model": EMBEDDING_MODEL}
    if config.objective == "cross_encoder":
        settings.update(max_length=config.max_length, max_windows=config.max_windows)
    return settings


def signal_summary(examples: list[Any], rows: list[list[float]], folds: int, seed: int,
                   with_cross_encoder: bool) -> dict[str, Any]:
    """Each signal alone, and calibrated groups of them, so the model card can say what each one
    adds. Columns follow calibrated.FEATURES."""
    summary = {"rows": len(examples), "similarity_alone": summarise_scores(examples, [r[1] for r in rows]),
               "token_recall_alone": summarise_scores(examples, [r[2] for r in rows]),
               "sentence_similarity_alone": summarise_scores(examples, [r[3] for r in rows]),
               "lexical_features": calibrated_summary(examples, [r[4:8] for r in rows], folds, seed),
               "embedding_and_lexical": calibrated_summary(examples, [r[1:8] for r in rows], folds, seed)}
    if with_cross_encoder:
        summary["cross_encoder_alone"] = summarise_scores(examples, [r[0] for r in rows])
        summary["all_signals"] = calibrated_summary(examples, rows, folds, seed)
    return summary


def calibrated_summary(examples: list[Any], rows: list[list[float]], folds: int, seed: int) -> dict[str, Any]:
    """A calibrator over these columns, scored two ways: out-of-fold in folds of whole questions
    (AUC, best F1 and its threshold, F1 at 0.5), and leave one dataset out (fitted on the other
    datasets, scored on the one it never saw: how well it carries over to new data)."""
    labels = [int(e.attributable) for e in examples]
    predictions = _out_of_fold(rows, labels, examples, folds, seed)
    summary: dict[str, Any] = summarise_scores(examples, predictions)
    summary["f1_at_0.5"] = _id_avg_f1(examples, predictions, 0.5)
    summary["leave_one_dataset_out"] = leave_one_dataset_out(examples, rows)
    return summary


def leave_one_dataset_out(examples: list[Any], rows: list[list[float]]) -> dict[str, float]:
    """Per dataset: macro-F1 of a calibrator fitted, and its threshold chosen, on the other
    datasets' rows only; "mean" over the datasets. Empty with fewer than two datasets."""
    from citeline.evals.attributionbench import macro_f1
    from citeline.verifiers.calibrated import fit_calibrator

    labels = [int(e.attributable) for e in examples]
    datasets = sorted({e.src_dataset for e in examples})
    scores: dict[str, float] = {}
    for held in datasets if len(datasets) > 1 else []:
        train = [i for i, e in enumerate(examples) if e.src_dataset != held]
        calibrator = fit_calibrator([rows[i] for i in train], [labels[i] for i in train],
                                    [str(i) for i in range(len(rows[0]))])
        probabilities = [calibrator.probability(row) for row in rows]
        threshold = summarise_scores([examples[i] for i in train],
                                     [probabilities[i] for i in train])["best_threshold"]
        test = [i for i, e in enumerate(examples) if e.src_dataset == held]
        scores[held] = macro_f1([labels[i] for i in test], [int(probabilities[i] >= threshold) for i in test])
    if scores:
        scores["mean"] = sum(scores.values()) / len(scores)
    return scores


def _out_of_fold(rows: list[list[float]], labels: list[int], examples: list[Any], folds: int,
                 seed: int) -> list[float]:
    from sklearn.model_selection import StratifiedGroupKFold

    from citeline.verifiers.calibrated import fit_calibrator

    strata = [f"{e.src_dataset}:{e.attributable}" for e in examples]
    questions = [f"{e.src_dataset}:{e.question}" for e in examples]  # whole questions per fold, as in the split
    predictions = [0.0] * len(rows)
    folding = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train_index, test_index in folding.split(rows, strata, questions):
        calibrator = fit_calibrator([rows[i] for i in train_index], [labels[i] for i in train_index],
                                    [str(i) for i in range(len(rows[0]))])
        for i in test_index:
            predictions[i] = calibrator.probability(rows[i])
    return predictions


def _id_avg_f1(examples: list[Any], scores: list[float], threshold: float) -> float:
    from citeline.evals.attributionbench import score_predictions

    return score_predictions(examples, [s >= threshold for s in scores]).id_avg


def export(config: TrainConfig, destination: str | Path) -> Path:
    """The run's model folder copied to ``destination`` (see recipe.export)."""
    from citeline.verifiers.training.recipe import export as export_folder

    network = {"calibrator": None, "token_alignment": "encoder"}.get(config.objective, "classifier")
    return export_folder(Path(config.output_dir) / "model", destination, network)


def main(config_path: str | None, output_dir: str | None = None, progress: bool = True,
         calibrate_only: bool = False, export_to: str | None = None) -> int:
    config = TrainConfig.load(config_path) if config_path else TrainConfig()
    if output_dir:
        config.output_dir = output_dir
    if not calibrate_only and config.objective != "calibrator":
        trainer = train_token_alignment if config.objective == "token_alignment" else train
        print(f"best model saved to {trainer(config, progress=progress)}")
    calibrate(config)
    if export_to:
        print(f"exported to {export(config, export_to)}")
    return 0
