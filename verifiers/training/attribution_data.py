"""Training pairs of the binary verifier: (evidence, claim) -> supported (1) or not (0).

The public fact-checking / NLI sets are read by ``sources.py``; here only entailment counts as
supported: neutral, contradiction, refuted, partial and irrelevant all count as not supported.
Each source is sampled to a fixed number of pairs, half of each label where it can, so no set
dominates. AttributionBench dev is split by question within each dataset: one part may train a
network, the held-out part picks its checkpoint and fits the calibrator. AttributionBench's test
sample is never read here.

Long evidence is cut into the same windows the verifier uses at inference; a training pair keeps
the window that shares most content words with the claim (the one most likely to hold, or to
almost hold, the support), so the model learns on inputs shaped like the ones it will see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeline.verifiers.training import sources
from citeline.verifiers.training.attribution_config import TrainConfig


@dataclass(frozen=True)
class TrainPair:
    evidence: str
    claim: str
    label: int  # 1 supported, 0 not
    source: str


def load_source(name: str, root: Path) -> list[TrainPair]:
    """A set of ``sources.LOADERS`` (or "curriculum:<task>") with binary labels: 1 only where
    entailed. ``sources`` leaves out rows whose evidence or claim is empty: they teach nothing."""
    return [TrainPair(p.evidence, p.claim, int(p.label == sources.ENTAILMENT), p.source)
            for p in sources.load_source(name, root)]


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
