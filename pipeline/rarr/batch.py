"""``citeline revise`` over a JSONL file: results written as they go, resumable, errors per line.

Input records: ``{"id"?, "text"}`` (``answer`` or ``claim`` work in place of ``text``).
``<out>/results.jsonl`` gets one line per record, keyed by its line number:
``{"line", "id", "status": "ok" | "error", "result" | "error"}``; ``<out>/summary.json`` holds
the aggregate over every result in the folder (resumed runs included).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from citeline.pipeline.batch import prepare_run_folder, read_input
from citeline.pipeline.rarr.metrics import f1_ap
from citeline.pipeline.rarr.results import RarrCounters
from citeline.pipeline.rarr.revise import Reviser
from citeline.pipeline.records import RecordError, parse_record_line

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
TEXT_FIELDS = ("text", "answer", "claim")


@dataclass
class ReviseSummary:
    records: int = 0
    revised: int = 0  # records RARR ran on (changed or not)
    failed: int = 0
    changed: int = 0  # records whose text was edited
    claims: int = 0
    attribution_before: float = 0.0  # means over revised records
    attribution_after: float = 0.0
    preservation: float = 0.0
    f1_ap: float = 0.0  # harmonic mean of the two means above (as in the RARR paper)
    counters: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # this run only
    records_this_run: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # {"line", "reason"}

    @property
    def edit_rate(self) -> float:
        return self.changed / self.revised if self.revised else 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def text_from_record(data: dict[str, Any]) -> str:
    for name in TEXT_FIELDS:
        if name in data:
            text = data[name]
            if not isinstance(text, str):
                raise RecordError(f"'{name}' must be a string, not {type(text).__name__}")
            if not text.strip():
                raise RecordError(f"'{name}' is empty: there is nothing to revise")
            return text
    fields = ", ".join(sorted(data)) or "no fields"
    raise RecordError(f"missing field 'text' (or 'answer'/'claim'); record has: {fields}")


class ReviseRun:
    """Revises every record of ``input_path`` into the folder ``out``."""

    def __init__(self, reviser: Reviser) -> None:
        self.reviser = reviser

    def run(self, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True) -> ReviseSummary:
        done = prepare_run_folder(out, input_path, resume, overwrite)
        todo = [(n, raw) for n, raw in read_input(input_path) if n not in done]
        todo = todo[:limit] if limit is not None else todo
        started = time.perf_counter()
        with (out / RESULTS).open("a", encoding="utf-8") as sink, _progress(len(todo), progress) as bar:
            for number, raw in todo:
                sink.write(json.dumps(self._revise_line(number, raw), ensure_ascii=False) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                bar.update(1)
        summary = summarise(out)
        summary.seconds, summary.records_this_run = time.perf_counter() - started, len(todo)
        (out / SUMMARY).write_text(json.dumps(asdict(summary), indent=2) + "\n")
        return summary

    def _revise_line(self, number: int, raw: bytes) -> dict[str, Any]:
        record_id = None
        try:
            data = parse_record_line(raw)
            record_id = str(data.get("id", f"line-{number}"))
            text = text_from_record(data)
        except RecordError as error:
            return {"line": number, "id": record_id, "status": "error", "error": str(error)}
        try:
            result = self.reviser.revise(text, id=record_id)
        except Exception as error:  # noqa: BLE001 - reported per record, the run goes on
            return {"line": number, "id": record_id, "status": "error",
                    "error": f"revising failed: {type(error).__name__}: {error}"}
        return {"line": number, "id": record_id, "status": "ok", "result": result.to_dict()}


def read_results(out: Path) -> list[dict[str, Any]]:
    rows = (json.loads(line) for line in (out / RESULTS).read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(rows, key=lambda row: row["line"])


def summarise(out: Path) -> ReviseSummary:
    """The aggregate over every result saved in ``out``."""
    rows = read_results(out)
    results = [row["result"] for row in rows if row["status"] == "ok"]
    summary = ReviseSummary(records=len(rows), revised=len(results))
    summary.failed = sum(row["status"] == "error" for row in rows)
    summary.problems = [{"line": row["line"], "reason": row["error"]} for row in rows if row["status"] == "error"]
    if results:
        metrics = [r["metrics"] for r in results]
        summary.changed = sum(r["revised"] != r["original"] for r in results)
        summary.claims = sum(m["claims_before"] for m in metrics)
        summary.attribution_before = _mean(m["attribution_before"] for m in metrics)
        summary.attribution_after = _mean(m["attribution_after"] for m in metrics)
        summary.preservation = _mean(m["preservation"] for m in metrics)
        summary.f1_ap = f1_ap(summary.attribution_after, summary.preservation)
        totals = RarrCounters()
        for r in results:
            totals.add(RarrCounters(**r["counters"]))
        summary.counters = asdict(totals)
    return summary


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="record", disable=not enabled, dynamic_ncols=True)
