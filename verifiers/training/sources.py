"""Public NLI and fact-checking sets as (evidence, claim, label) pairs, with three labels where the
set has them.

Binary sets say only "entailed or not": their negatives are ``not_entailment`` (neutral or
contradiction, unknown which), and the trainer reads them as such. ANLI, SciFact and SICK are
left out on purpose: their licences are non-commercial, and the model these pairs train ships.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ENTAILMENT, NEUTRAL, CONTRADICTION = "entailment", "neutral", "contradiction"
NOT_ENTAILMENT = "not_entailment"
LABELS = (ENTAILMENT, NEUTRAL, CONTRADICTION)  # the model's classes, in this order


@dataclass(frozen=True)
class NLIPair:
    evidence: str
    claim: str
    label: str  # one of LABELS, or NOT_ENTAILMENT
    source: str  # the set it came from
    recipe: str = "original"  # "original", or the synthetic edit that made it (perturb.RECIPES, ...)
    group: str = ""  # the evidence's document: splits keep a group on one side

    def to_json(self) -> dict[str, str]:
        return {"evidence": self.evidence, "claim": self.claim, "label": self.label, "source": self.source,
                "recipe": self.recipe, "group": self.group}


def jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _binary(entailed: bool) -> str:
    return ENTAILMENT if entailed else NOT_ENTAILMENT


def _pairs(source: str, rows: list[tuple[str, str, str]]) -> list[NLIPair]:
    """Pairs grouped by their evidence text (one document may carry several claims)."""
    return [NLIPair(e, c, label, source, group=f"{source}:{text_id(e)}") for e, c, label in rows
            if e and c and e.strip() and c.strip()]


def text_id(text: str) -> str:
    """A short stable id of a text (Python's hash() changes between runs)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def _fever(root: Path) -> list[NLIPair]:
    return _pairs("fever", [(r["input0"], r["input1"], _binary(r["label"] == "entailment"))
                            for r in jsonl(root / "nli/fever_rte/dev.jsonl")])


def _docnli(name: str, files: tuple[str, ...]) -> Callable[[Path], list[NLIPair]]:
    def load(root: Path) -> list[NLIPair]:
        return _pairs(name, [(r["premise"], r["hypothesis"], _binary(r["label"] == "entailment"))
                             for f in files for r in jsonl(root / f"nli/docnli/{f}.jsonl")])
    return load


def _factcheck_gpt(root: Path) -> list[NLIPair]:
    # Partial support leaves part of the claim unsupported: not entailed, but not contradicted either.
    stance = {"completely-support": ENTAILMENT, "refute": CONTRADICTION, "irrelevant": NEUTRAL,
              "partially-support": NOT_ENTAILMENT}
    return _pairs("factcheck_gpt", [(r["evidence"], r["claim"], stance[r["stance"]])
                                    for r in jsonl(root / "nli/factcheck_gpt/claim_evidence_stance.jsonl")])


def _climate_fever(root: Path) -> list[NLIPair]:
    label = {"SUPPORTS": ENTAILMENT, "REFUTES": CONTRADICTION, "NOT_ENOUGH_INFO": NEUTRAL}
    return _pairs("climate_fever", [(e["evidence"], r["claim"], label[e["evidence_label"]])
                                    for r in jsonl(root / "nli/climate_fever/all.jsonl") for e in r["evidences"]])


def _healthver(root: Path) -> list[NLIPair]:
    label = {"Supports": ENTAILMENT, "Refutes": CONTRADICTION, "Neutral": NEUTRAL}
    return _pairs("healthver", [(r["evidence"], r["claim"], label[r["label"]])
                                for split in ("dev", "test") for r in jsonl(root / f"nli/healthver/{split}.jsonl")])


def _wice(root: Path) -> list[NLIPair]:
    rows = [r for name in ("claim_dev", "claim_test") for r in jsonl(root / f"nli/wice/{name}.jsonl")]
    return _pairs("wice", [(" ".join(r["evidence"]), r["claim"], _binary(r["label"] == "supported")) for r in rows])


def _summedits(root: Path) -> list[NLIPair]:
    return _pairs("summedits", [(r["doc"], r["summary"], _binary(str(r["label"]) == "1"))
                                for path in sorted((root / "nli/summedits").glob("summedits_*.jsonl"))
                                for r in jsonl(path)])


def _q2(root: Path) -> list[NLIPair]:
    return _pairs("q2", [(r["knowledge"], r["response"], _binary(kind == "consistent"))
                         for system in ("dodeca", "memnet") for kind in ("consistent", "inconsistent")
                         for r in jsonl(root / f"nli/q2/{system}_{kind}.jsonl")])


_CURRICULUM_LABELS = {"entailment": ENTAILMENT, "entailed": ENTAILMENT, "neutral": NEUTRAL,
                      "contradiction": CONTRADICTION, "not-entailed": NOT_ENTAILMENT}


def _curriculum(task: str) -> Callable[[Path], list[NLIPair]]:
    def load(root: Path) -> list[NLIPair]:
        return _pairs(f"curriculum:{task}", [(r["premise"], r["hypothesis"], _CURRICULUM_LABELS[r["gold_label"]])
                                             for r in jsonl(root / f"nli/curriculum_nli/{task}/train.jsonl")])
    return load


LOADERS: dict[str, Callable[[Path], list[NLIPair]]] = {
    "fever": _fever,
    "docnli:mnli": _docnli("docnli:mnli", ("binary_mnli_dev", "binary_mnli_test")),
    "docnli:fever": _docnli("docnli:fever", ("binary_fever_nli_dev", "binary_fever_nli_test")),
    "docnli:mctest": _docnli("docnli:mctest", ("mctest_nli_mc160_train", "mctest_nli_mc160_dev",
                                               "mctest_nli_mc160_test", "mctest_nli_mc500_dev",
                                               "mctest_nli_mc500_test")),
    "factcheck_gpt": _factcheck_gpt, "climate_fever": _climate_fever, "healthver": _healthver, "wice": _wice,
    "summedits": _summedits, "q2": _q2,
}


def load_source(name: str, root: Path) -> list[NLIPair]:
    if name.startswith("curriculum:"):
        task = name.split(":", 1)[1]
        if not (root / f"nli/curriculum_nli/{task}/train.jsonl").is_file():
            raise ValueError(f"unknown curriculum task {task!r}: see {root / 'nli/curriculum_nli'}")
        return _curriculum(task)(root)
    if name not in LOADERS:
        raise ValueError(f"unknown training source {name!r}: use one of {sorted(LOADERS)} or curriculum:<task>")
    return LOADERS[name](root)
