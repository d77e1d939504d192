"""AttributionBench (Li et al., ACL Findings 2024): does the evidence support the claim?

Each row has a question, a claim (one sentence of an LLM answer, or for AttributedQA often just
the short answer) and the references the answer cited. As in the benchmark's own prompt, the
verifier sees the references joined as the evidence and "question + claim" as the claim, so a
bare answer like "George II" is still a checkable statement. An empty reference list, or a
verifier answer that is neither label, counts as a wrong prediction.

Metric (the benchmark's analysis script): per ``src_dataset``, sklearn's macro-F1 over
{attributable = 1, not attributable = 0}; ID-Avg is the unweighted mean over the four
in-distribution sets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from citeline.core.paths import data_dir

SPLIT_FILES = {
    "dev": "dev_all_subset_balanced.jsonl",
    "id-sample": "test_all_subset_balanced_sampled500.jsonl",
}
HUB_SPLITS = {"dev": "dev", "id-sample": "test"}  # the hub's "test" is the full ID test
ID_DATASETS = ("ExpertQA", "Stanford-GenSearch", "AttributedQA", "LFQA")
ATTRIBUTABLE = "attributable"
DATA_ENV = "CITELINE_ATTRIBUTIONBENCH"  # this set's own folder; else $CITELINE_DATA/attributionbench


@dataclass(frozen=True)
class Example:
    id: str
    src_dataset: str
    question: str
    claim: str
    references: tuple[str, ...]
    attributable: bool

    @property
    def evidence(self) -> str:
        return "\n\n".join(r.strip() for r in self.references if r and r.strip())

    @property
    def claim_text(self) -> str:
        """What the verifier checks: the question, then the claim."""
        return f"{self.question.strip()}\n{self.claim.strip()}".strip()

    @property
    def pair(self) -> tuple[str, str]:
        return (self.evidence, self.claim_text)


def example_from_row(row: dict[str, Any]) -> Example:
    label = row.get("attribution_label")
    if label not in (ATTRIBUTABLE, "not attributable"):
        raise ValueError(f"row {row.get('id')!r}: attribution_label {label!r} is neither "
                         f"'attributable' nor 'not attributable'")
    references = row.get("references") or []
    if isinstance(references, str):
        references = [references]
    return Example(id=str(row.get("id", "")), src_dataset=str(row.get("src_dataset", "")),
                   question=row.get("question") or "", claim=row.get("claim") or "",
                   references=tuple(str(r) for r in references), attributable=label == ATTRIBUTABLE)


def resolve_data_dir(given: str | Path | None = None) -> Path:
    """``given``, else $CITELINE_ATTRIBUTIONBENCH, else the shared data folder (``core.paths``)."""
    return data_dir("attributionbench", given, env=DATA_ENV)


def load_examples(split: str, data_dir: str | Path | None = None) -> list[Example]:
    """Rows of a split from ``data_dir`` (see ``resolve_data_dir``), else from the hub."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown split {split!r}: use one of {sorted(SPLIT_FILES)}")
    path = resolve_data_dir(data_dir) / SPLIT_FILES[split]
    if path.is_file():
        with path.open(encoding="utf-8") as lines:
            return [example_from_row(json.loads(line)) for line in lines if line.strip()]
    return _load_from_hub(split, path)


def _load_from_hub(split: str, missing: Path) -> list[Example]:
    if split == "id-sample":
        raise FileNotFoundError(f"{missing} not found: the 500-row ID sample is a file of the benchmark's "
                                f"GitHub repository; pass --data-dir to the folder that holds it")
    try:
        from datasets import load_dataset

        rows = load_dataset("osunlp/AttributionBench", split=HUB_SPLITS[split])
    except Exception as error:  # offline, or datasets not installed
        raise FileNotFoundError(f"{missing} not found and the hub copy (osunlp/AttributionBench) could not "
                                f"be loaded ({error}); pass --data-dir") from error
    return [example_from_row(dict(row)) for row in rows]


@dataclass(frozen=True)
class SubsetScore:
    src_dataset: str
    n: int
    macro_f1: float  # %, sklearn macro-F1 with attributable = 1
    fp: float  # % of rows: gold not attributable, predicted attributable
    fn: float  # % of rows: gold attributable, predicted not attributable (or no usable prediction)


@dataclass
class BenchResult:
    split: str
    verifier: str
    subsets: list[SubsetScore]
    id_avg: float
    failures: int = 0  # rows without a usable prediction (counted wrong)
    id_avg_interval: tuple[float, float] | None = None  # 95% bootstrap interval (see id_avg_interval)
    extra: dict[str, Any] = field(default_factory=dict)


def macro_f1(gold: Sequence[int], predicted: Sequence[int]) -> float:
    from sklearn.metrics import f1_score

    return 100.0 * f1_score(list(gold), list(predicted), average="macro", labels=[0, 1], zero_division=0)


def score_predictions(examples: Sequence[Example], predictions: Sequence[bool | None], split: str = "",
                      verifier: str = "") -> BenchResult:
    """Per-dataset macro-F1/FP/FN. A prediction of None (no usable answer) counts as wrong."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
    subsets = []
    for name in _dataset_order(examples):
        gold, pred = _labels(examples, predictions, name)
        fp = sum(1 for g, p in zip(gold, pred) if g == 0 and p == 1)
        fn = sum(1 for g, p in zip(gold, pred) if g == 1 and p == 0)
        subsets.append(SubsetScore(name, len(gold), macro_f1(gold, pred), 100.0 * fp / len(gold),
                                   100.0 * fn / len(gold)))
    in_dist = [s.macro_f1 for s in subsets if s.src_dataset in ID_DATASETS]
    id_avg = sum(in_dist) / len(in_dist) if in_dist else float("nan")
    return BenchResult(split, verifier, subsets, id_avg, failures=sum(p is None for p in predictions))


def _labels(examples: Sequence[Example], predictions: Sequence[bool | None],
            dataset: str) -> tuple[list[int], list[int]]:
    """Gold and predicted labels (1 = attributable) of one dataset's rows; no prediction is wrong."""
    rows = [(e, p) for e, p in zip(examples, predictions) if e.src_dataset == dataset]
    return [int(e.attributable) for e, _ in rows], [int(e.attributable) ^ 1 if p is None else int(p) for e, p in rows]


def id_avg_interval(examples: Sequence[Example], predictions: Sequence[bool | None], resamples: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of ID-Avg: each resample draws every ID dataset's rows
    with replacement, as many as it has. On a 500-row sample the datasets hold 52 to 190 rows, so
    a gap of a few points between two verifiers is often inside it."""
    import numpy as np

    rng = np.random.default_rng(seed)
    totals = np.zeros(resamples)
    datasets = [d for d in _dataset_order(examples) if d in ID_DATASETS]
    if not datasets:
        return float("nan"), float("nan")
    for name in datasets:
        gold, pred = (np.array(labels) for labels in _labels(examples, predictions, name))
        draws = rng.integers(0, len(gold), size=(resamples, len(gold)))
        totals += _macro_f1_rows(gold[draws], pred[draws])
    means = totals / len(datasets)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _macro_f1_rows(gold: Any, pred: Any) -> Any:
    """macro_f1 for each row of two 0/1 matrices (a class with no support and no prediction: 0)."""
    import numpy as np

    scores = []
    for positive in (0, 1):
        tp = ((gold == positive) & (pred == positive)).sum(axis=1)
        wrong = (gold != pred).sum(axis=1)  # each wrong row is a false positive of one class, a miss of the other
        denominator = 2 * tp + wrong
        scores.append(np.divide(2 * tp, denominator, out=np.zeros(len(gold)), where=denominator > 0))
    return 100.0 * (scores[0] + scores[1]) / 2


def _dataset_order(examples: Iterable[Example]) -> list[str]:
    present = dict.fromkeys(e.src_dataset for e in examples)
    return [d for d in ID_DATASETS if d in present] + [d for d in present if d not in ID_DATASETS]


def predict(verifier: Any, examples: Sequence[Example], progress: bool = False) -> list[bool | None]:
    """The verifier's label per example; no references, an unknown label or a verdict without a
    probability (an LLM judge's unparseable reply: None, or NaN from an older verifier) mean no
    usable prediction."""
    from citeline.core.progress import map_chunks

    live = [i for i, e in enumerate(examples) if e.evidence]
    verdicts = map_chunks(verifier.verify, [examples[i].pair for i in live],
                          f"attributionbench {getattr(verifier, 'name', '?')}", "pair", enabled=progress)
    predictions: list[bool | None] = [None] * len(examples)
    for i, verdict in zip(live, verdicts):
        label = getattr(verdict, "label", None)
        probability = getattr(verdict, "probability", 0.0)
        usable = isinstance(probability, (int, float)) and not math.isnan(probability)
        predictions[i] = {"supported": True, "not_supported": False}.get(label) if usable else None
    return predictions


# ---- published results and the report ----------------------------------------------------------

# Macro-F1 (%) on the full 1,610-row ID test, from the AttributionBench project page
# (OSU-NLP-Group/AttributionBench, index.html at 844a5d6; ../shared/data/attributionbench/RESULTS.md).
PUBLISHED = (
    # (setting and model, ExpertQA, Stanford-GenSearch, AttributedQA, LFQA, ID-Avg)
    ("fine-tuned FLAN-T5 (11B)", 61.8, 81.7, 83.4, 86.9, 78.5),
    ("fine-tuned GPT-3.5 (w/o CoT)", 61.1, 82.0, 83.9, 83.9, 77.7),
    ("fine-tuned FLAN-T5 (770M)", 55.0, 75.2, 81.6, 83.3, 73.8),
    ("zero-shot GPT-4 (w/ CoT)", 59.2, 71.7, 82.2, 80.2, 73.3),
    ("zero-shot T5-XXL-TRUE (11B)", 54.5, 68.5, 85.2, 80.4, 72.2),
    ("zero-shot AttrScore-FLAN-T5 (3B)", 55.7, 64.6, 80.5, 71.4, 68.1),
    ("fine-tuned roberta-large-mnli (330M)", 52.0, 64.7, 71.5, 68.0, 64.1),
)


@dataclass
class BenchReport:
    results: list[BenchResult]  # the verifier first, then the lexical baseline
    markdown: str

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"results": [asdict(r) for r in self.results],
                "published_full_id_test": [dict(zip(("model", *ID_DATASETS, "ID-Avg"), row)) for row in PUBLISHED]}


def evaluate(verifier: Any, examples: Sequence[Example], split: str, progress: bool = False) -> BenchResult:
    import time

    started = time.perf_counter()
    predictions = predict(verifier, examples, progress)
    seconds = time.perf_counter() - started
    result = score_predictions(examples, predictions, split, getattr(verifier, "name", "?"))
    result.id_avg_interval = id_avg_interval(examples, predictions)
    result.extra.update(seconds=round(seconds, 2), pairs_per_second=round(len(examples) / max(seconds, 1e-9), 2))
    return result


def run_benchmark(split: str, verifier_spec: str, data_dir: str | Path | None = None,
                  limit: int | None = None, progress: bool = False) -> BenchReport:
    from citeline.verifiers.default import load_verifier

    examples = load_examples(split, data_dir)[:limit] if limit else load_examples(split, data_dir)
    results = [evaluate(load_verifier(verifier_spec), examples, split, progress)]
    if verifier_spec != "lexical":
        results.append(evaluate(load_verifier("lexical"), examples, split, progress))
    return BenchReport(results, render_markdown(results, split))


def render_markdown(results: Sequence[BenchResult], split: str) -> str:
    names = [s.src_dataset for s in results[0].subsets]
    header = ["verifier", *(f"{n} F1 / FP / FN" for n in names), "ID-Avg F1 (95% bootstrap interval)"]
    lines = [f"AttributionBench {split} ({sum(s.n for s in results[0].subsets)} rows), macro-F1 %",
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [f"{s.macro_f1:.1f} / {s.fp:.1f} / {s.fn:.1f}" for s in result.subsets]
        interval = " ({:.1f}-{:.1f})".format(*result.id_avg_interval) if result.id_avg_interval else ""
        lines.append(f"| {result.verifier} | " + " | ".join(cells) + f" | {result.id_avg:.1f}{interval} |")
    published = {name: i for i, name in enumerate(ID_DATASETS)}
    for model, *scores in PUBLISHED:
        cells = [f"{scores[published[n]]:.1f}" if n in published else "" for n in names]
        lines.append(f"| published: {model} (full ID test) | " + " | ".join(cells) + f" | {scores[-1]:.1f} |")
    failures = [f"{r.verifier}: {r.failures} rows without a usable prediction (counted wrong)"
                for r in results if r.failures]
    speed = [f"{r.verifier}: {r.extra.get('pairs_per_second', 0):.1f} rows/s" for r in results]
    return "\n".join(lines + [""] + failures + speed)
