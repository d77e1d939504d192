"""The binary verifier's trainers: a cross-encoder ((evidence window, claim) -> P(supported)) and
the embedding model's token alignment, each picking its checkpoint on held-out AttributionBench dev."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from citeline.core.paths import resolve_pip_model
from citeline.verifiers.training.attribution_config import TrainConfig
from citeline.verifiers.training.attribution_data import (TrainPair, build_training_pairs, fit_to_window,
                                                           split_attributionbench_dev)
from citeline.verifiers.training.nli_trainer import length_batches


def evaluate_held_out(model: Any, tokenizer: Any, held_out: list[Any], max_length: int,
                      max_windows: int | None = None) -> dict[str, float]:
    """Mean per-dataset ROC-AUC (threshold-free, used to pick the checkpoint) and best-threshold F1."""
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    verifier = CrossEncoderVerifier.from_loaded(model, tokenizer, max_length=max_length, max_windows=max_windows,
                                                batch_size=32)
    return summarise_scores(held_out, verifier.score([e.pair for e in held_out]))


def summarise_scores(examples: list[Any], scores: list[float]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    from citeline.evals.attributionbench import macro_f1

    datasets = sorted({e.src_dataset for e in examples})
    aucs = []
    for name in datasets:
        rows = [(e.attributable, s) for e, s in zip(examples, scores) if e.src_dataset == name]
        aucs.append(roc_auc_score([int(g) for g, _ in rows], [s for _, s in rows]))
    best_f1, best_threshold = 0.0, 0.5
    # Candidates are scores rounded down, so that a row whose score set the threshold still meets it.
    for threshold in sorted(set(math.floor(s * 1000) / 1000 for s in scores)):
        f1s = [macro_f1([int(e.attributable) for e in examples if e.src_dataset == name],
                        [int(s >= threshold) for e, s in zip(examples, scores) if e.src_dataset == name])
               for name in datasets]
        if sum(f1s) / len(f1s) > best_f1:
            best_f1, best_threshold = sum(f1s) / len(f1s), threshold
    return {"auc": 100 * sum(aucs) / len(aucs), "best_f1": best_f1, "best_threshold": best_threshold}


@dataclass
class _Run:
    """What every trainer shares: its config, output folder, pair sampler and dev split."""
    config: TrainConfig
    out: Path
    rng: random.Random
    dev_train: list[Any]
    held_out: list[Any]
    started: float


def _start(config: TrainConfig) -> _Run:
    import numpy as np
    import torch

    from citeline.evals.attributionbench import load_examples

    started = time.monotonic()
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = load_examples("dev", Path(config.data_dir) / "attributionbench")
    dev_train, held_out = split_attributionbench_dev(dev, config.holdout_fraction, config.seed)
    (out / "held_out_ids.json").write_text(json.dumps(sorted(e.id for e in held_out)))
    rng = random.Random(config.seed if config.sample_seed is None else config.sample_seed)
    return _Run(config, out, rng, dev_train, held_out, started)


def _optimise(run: _Run, model: Any, tokenizer: Any, batches: list[list[int]], batch_loss: Callable[[list[int]], Any],
              evaluate: Callable[[], dict[str, float]], progress: bool, head: Sequence[Any] = ()) -> dict[str, Any]:
    """AdamW with linear warm-up and decay over ``batches``; every ``eval_every`` steps (and at the
    end, or past max_minutes) the held-out score decides whether to save the model. ``head``:
    extra parameters outside the model, trained at a higher rate and logged."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from citeline.core.progress import ProgressBar

    config = run.config
    groups = [{"params": model.parameters()}]
    if head:
        groups.append({"params": list(head), "lr": 1e-2, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * len(batches)), len(batches))
    history: list[dict[str, Any]] = []
    best = -1.0
    model.train()
    bar = ProgressBar(len(batches), "train-verifier", "batch", progress)
    for step, batch in enumerate(batches, start=1):
        loss = batch_loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        bar.update(loss=f"{loss.item():.3f}")
        minutes = (time.monotonic() - run.started) / 60
        out_of_time = minutes > config.max_minutes
        if step % config.eval_every == 0 or step == len(batches) or out_of_time:
            was_training = model.training
            model.eval()
            scores: dict[str, Any] = evaluate()
            model.train(was_training)
            scores.update(step=step, minutes=minutes, loss=loss.item(), head=[p.item() for p in head])
            history.append(scores)
            print(json.dumps(scores), flush=True)
            if scores["auc"] > best:
                best = scores["auc"]
                model.save_pretrained(run.out / "model")
                tokenizer.save_pretrained(run.out / "model")
        if out_of_time:
            print(f"stopping at step {step}/{len(batches)}: past max_minutes={config.max_minutes}", flush=True)
            break
    bar.close()
    return {"steps": len(batches), "history": history, "best_held_out_auc": best}


def _finish(run: _Run, base: str, pairs: list[TrainPair], result: dict[str, Any]) -> Path:
    log = {"config": asdict(run.config), "base_model_path": base, "pairs": len(pairs),
           "pairs_per_source": _count_sources(pairs), **result, "minutes": (time.monotonic() - run.started) / 60}
    (run.out / "train_log.json").write_text(json.dumps(log, indent=2))
    return run.out / "model"


def train(config: TrainConfig, progress: bool = True) -> Path:
    """Fine-tune a cross-encoder: (evidence window, claim) -> one logit, binary cross-entropy."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run = _start(config)
    base = resolve_pip_model(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=1, id2label={0: "supported"}, label2id={"supported": 0})
    pairs = fit_to_window(build_training_pairs(config, run.dev_train, run.rng), tokenizer, config.max_length)
    print(f"{len(pairs)} training pairs: {_count_sources(pairs)}", flush=True)

    encoded = tokenizer([p.evidence for p in pairs], [p.claim for p in pairs], truncation=True,
                        max_length=config.max_length)
    batches = length_batches([len(ids) for ids in encoded["input_ids"]], config.batch_size, run.rng)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def batch_loss(batch: list[int]) -> Any:
        features = tokenizer.pad({k: [encoded[k][i] for i in batch] for k in encoded}, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            logits = model(**features).logits[:, 0]
        return loss_fn(logits.float(), torch.tensor([float(pairs[i].label) for i in batch]))

    def evaluate() -> dict[str, float]:
        return evaluate_held_out(model, tokenizer, run.held_out, config.max_length, config.max_windows)

    return _finish(run, base, pairs, _optimise(run, model, tokenizer, batches, batch_loss, evaluate, progress))


def train_token_alignment(config: TrainConfig, progress: bool = True) -> Path:
    """Tune the embedding model so that a claim's token recall against its evidence window,
    through a learned scale and offset, predicts the label (binary cross-entropy). The model
    stays a plain sentence-embedding model, so its evidence vectors still do not depend on the
    claim and are computed once per source at inference."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from citeline.verifiers.calibrated import statement
    from citeline.verifiers.similarity import token_tables

    run = _start(config)
    base = resolve_pip_model(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base, dtype=torch.float32)
    special, content = (torch.from_numpy(t) for t in token_tables(tokenizer))
    pairs = [TrainPair(p.evidence, statement(p.claim), p.label, p.source)
             for p in build_training_pairs(config, run.dev_train, run.rng)]
    pairs = fit_to_window(pairs, tokenizer, config.max_length, beside_claim=False)
    evidence = tokenizer([p.evidence for p in pairs], truncation=True, max_length=config.max_length)
    claims = tokenizer([p.claim for p in pairs], truncation=True, max_length=config.max_length)
    claim_tokens = [content[ids].nonzero().squeeze(1).tolist() for ids in map(torch.tensor, claims["input_ids"])]
    keep = [i for i, positions in enumerate(claim_tokens) if positions]  # a claim of stopwords has no recall
    print(f"{len(keep)} training pairs: {_count_sources([pairs[i] for i in keep])}", flush=True)

    batches = [[keep[i] for i in b] for b in length_batches(
        [len(evidence["input_ids"][i]) for i in keep], config.batch_size, run.rng)]
    scale, offset = torch.nn.Parameter(torch.tensor(10.0)), torch.nn.Parameter(torch.tensor(0.75))
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def encode(encoded: Any, rows: list[int]) -> Any:
        features = tokenizer.pad({k: [encoded[k][i] for i in rows] for k in encoded}, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            hidden = model(**features).last_hidden_state
        return torch.nn.functional.normalize(hidden.float(), dim=-1), features

    def batch_loss(batch: list[int]) -> Any:
        evidence_vectors, evidence_features = encode(evidence, batch)
        claim_vectors, _ = encode(claims, batch)
        evidence_mask = evidence_features["attention_mask"].bool() & ~special[evidence_features["input_ids"]]
        claim_mask = torch.zeros(claim_vectors.shape[:2])
        for row, i in enumerate(batch):
            claim_mask[row, claim_tokens[i]] = 1.0
        similarity = torch.einsum("bcd,bed->bce", claim_vectors, evidence_vectors)
        best_match = similarity.masked_fill(~evidence_mask[:, None, :], -2.0).max(dim=-1).values
        recall = (best_match * claim_mask).sum(1) / claim_mask.sum(1)
        return loss_fn(scale * (recall - offset), torch.tensor([float(pairs[i].label) for i in batch]))

    def evaluate() -> dict[str, float]:
        return evaluate_token_recall(model, tokenizer, run.held_out, config.max_length)

    result = _optimise(run, model, tokenizer, batches, batch_loss, evaluate, progress, head=(scale, offset))
    return _finish(run, base, [pairs[i] for i in keep], result)


def evaluate_token_recall(model: Any, tokenizer: Any, held_out: list[Any], max_length: int) -> dict[str, float]:
    """Held-out scores of the token recall signal alone, computed as the verifier computes it."""
    from citeline.verifiers.calibrated import statement
    from citeline.verifiers.similarity import EmbeddingSimilarity

    similarity = EmbeddingSimilarity.from_loaded(model, tokenizer, max_length=max_length)
    signals = similarity.signals([(e, statement(c)) for e, c in (x.pair for x in held_out)])
    return summarise_scores(held_out, [s.token_recall for s in signals])


def _count_sources(pairs: list[TrainPair]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for p in pairs:
        entry = counts.setdefault(p.source, {"supported": 0, "not_supported": 0})
        entry["supported" if p.label else "not_supported"] += 1
    return counts
