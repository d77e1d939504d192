"""Contrast sets: does a verifier tell a supported claim from a minimally edited copy of it?

A contrast file is JSONL, one row per claim: ``pair_id`` (an original and its edits share it),
``recipe`` ("original", or the edit: "negation", "number", "entity", ...), ``evidence``,
``claim``, ``supported`` (1 for originals, 0 for edits), and optionally ``slice`` and ``detail``.
``citeline train-verifier`` writes one (``contrast_dev.jsonl``); ``examples/obvious_cases.jsonl``
is a small hand-written one.

Score per edit kind: macro-F1 of supported vs not over each original that has an edit of that
kind and the edit itself (so every kind is judged on balanced pairs), and the share of originals
accepted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

REQUIRED = ("pair_id", "recipe", "evidence", "claim", "supported")


@dataclass
class ContrastResult:
    verifier: str
    rows: int
    kinds: dict[str, dict[str, float]]  # edit kind -> {"pairs", "macro_f1"}
    original_accepted: float
    seconds: float
    verdicts: list[dict[str, Any]] = field(default_factory=list)


def load_rows(path: str | Path, slice_: str | None = None) -> list[dict[str, Any]]:
    rows = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error.msg}); a contrast row is one JSON object "
                                 f"per line") from None
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise ValueError(f"{path}:{number}: missing fields {missing}; a contrast row has {list(REQUIRED)}")
            if slice_ is None or row.get("slice") == slice_:
                rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows" + (f" in slice {slice_!r}" if slice_ else ""))
    return rows


def score_rows(rows: Sequence[dict[str, Any]], supported: Sequence[bool]) -> tuple[dict[str, Any], float]:
    """Per edit kind {"pairs", "macro_f1"}, and the share (%) of originals accepted."""
    from citeline.evals.attributionbench import macro_f1

    by_pair: dict[Any, dict[str, bool]] = {}
    for row, verdict in zip(rows, supported):
        by_pair.setdefault(row["pair_id"], {})[row["recipe"]] = verdict
    kinds = {}
    for kind in sorted({r["recipe"] for r in rows} - {"original"}):
        gold, predicted = [], []
        for recipes in by_pair.values():
            if kind in recipes and "original" in recipes:
                gold += [1, 0]
                predicted += [int(recipes["original"]), int(recipes[kind])]
        kinds[kind] = {"pairs": len(gold) // 2, "macro_f1": macro_f1(gold, predicted)}
    originals = [r["original"] for r in by_pair.values() if "original" in r]
    return kinds, 100 * sum(originals) / max(len(originals), 1)


def evaluate(verifier: Any, rows: Sequence[dict[str, Any]], progress: bool = False) -> ContrastResult:
    from citeline.core.progress import map_chunks

    started = time.perf_counter()
    verdicts = map_chunks(verifier.verify, [(r["evidence"], r["claim"]) for r in rows],
                          f"contrast {getattr(verifier, 'name', '?')}", "pair", enabled=progress)
    seconds = time.perf_counter() - started
    kinds, accepted = score_rows(rows, [v.label == "supported" for v in verdicts])
    details = [{"recipe": r["recipe"], "claim": r["claim"], "gold": "supported" if r["supported"] else "not supported",
                "verdict": v.label.replace("_", " "), "probability": round(v.probability, 3),
                "contradiction": None if v.contradiction is None else round(v.contradiction, 3)}
               for r, v in zip(rows, verdicts)]
    return ContrastResult(getattr(verifier, "name", "?"), len(rows), kinds, accepted, seconds, details)


def render_markdown(results: Sequence[ContrastResult], show_rows: bool = False) -> str:
    kinds = sorted({k for r in results for k in r.kinds})
    header = ["verifier", *(f"{k} F1 (pairs)" for k in kinds), "originals accepted %"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [f"{result.kinds[k]['macro_f1']:.1f} ({result.kinds[k]['pairs']})" if k in result.kinds else ""
                 for k in kinds]
        lines.append(f"| {result.verifier} | " + " | ".join(cells) + f" | {result.original_accepted:.1f} |")
    if show_rows:
        for result in results:
            lines += ["", f"{result.verifier}:", "", "| claim | edit | verdict (P supported) |", "|---|---|---|"]
            lines += [f"| {d['claim']} | {d['recipe']} | {d['verdict']} ({d['probability']:.2f}) |"
                      for d in result.verdicts]
    return "\n".join(lines)
