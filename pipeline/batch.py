"""Batch evaluation over a JSONL file: results written as they go, resumable, bad records reported.

``<out>/results.jsonl`` gets one line per input record, keyed by its line number:
``{"line", "id", "status": "ok" | "invalid_citations" | "error", "report" | "error"}``.
``<out>/run.json`` pins the input (path and hash) so ``--resume`` never mixes two inputs, and
``<out>/summary.json`` holds the aggregate over every result in the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from citeline.core.types import Report
from citeline.pipeline.check import CheckRequest, CitationChecker
from citeline.pipeline.records import RecordError, parse_record_line, request_from_record

RESULTS = "results.jsonl"
RUN = "run.json"
SUMMARY = "summary.json"


class RunFolderError(RuntimeError):
    """The output folder holds another run, or results the user did not ask to keep."""


@dataclass
class EvalSummary:
    records: int = 0
    checked: int = 0
    failed: int = 0  # records that could not be checked at all
    with_invalid_citations: int = 0  # checked, but citing a source that does not exist
    claims: int = 0
    citation_recall: float = 0.0  # ALCE, mean over checked answers
    citation_precision: float = 0.0
    support_rate: float | None = None  # share of claims some source supports, mean over answers
    uncited_claims: int = 0
    invalid_citations: int = 0
    verifier: str = ""
    seconds: float = 0.0  # this run only (a resumed run counts its own work)
    records_this_run: int = 0
    claims_this_run: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # {"line", "status", "reason"}

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.with_invalid_citations else 0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_run_folder(out: Path, input_path: Path, resume: bool, overwrite: bool) -> set[int]:
    """Make ``out`` ready; return the line numbers already done when resuming."""
    results, run_file = out / RESULTS, out / RUN
    identity = {"input": str(input_path.resolve()), "input_sha256": sha256_of(input_path)}
    if results.exists() and not (resume or overwrite):
        raise RunFolderError(f"{out} already holds results: pass --resume to continue that run "
                             f"or --overwrite to start again")
    if results.exists() and resume:
        previous = json.loads(run_file.read_text()) if run_file.exists() else {}
        if previous.get("input_sha256") != identity["input_sha256"]:
            raise RunFolderError(f"{out} holds a run over another input ({previous.get('input', '?')}); "
                                 f"use another --out folder, or --overwrite to replace it")
        return _done_lines(results)
    out.mkdir(parents=True, exist_ok=True)
    results.write_text("")
    (out / SUMMARY).unlink(missing_ok=True)
    run_file.write_text(json.dumps(identity, indent=2) + "\n")
    return set()


def _done_lines(results: Path) -> set[int]:
    """Line numbers with a saved result; a line cut short by a crash is dropped from the file."""
    data = results.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with results.open("r+b") as handle:
            handle.truncate(len(complete))
    return {json.loads(line)["line"] for line in complete.splitlines() if line.strip()}


def read_input(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw bytes) of every non-blank line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                yield number, raw


class EvalRun:
    """Checks every record of ``input_path`` into ``out``, ``batch_size`` records per verifier batch."""

    def __init__(self, checker: CitationChecker, batch_size: int = 16) -> None:
        self.checker = checker
        self.batch_size = batch_size

    def run(self, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True) -> EvalSummary:
        done = prepare_run_folder(out, input_path, resume, overwrite)
        todo = [(n, raw) for n, raw in read_input(input_path) if n not in done]
        todo = todo[:limit] if limit is not None else todo
        started, claims = time.perf_counter(), 0
        with (out / RESULTS).open("a", encoding="utf-8") as sink, _progress(len(todo), progress) as bar:
            for first in range(0, len(todo), self.batch_size):
                batch = todo[first:first + self.batch_size]
                for row in self._check_batch(batch):
                    claims += len(row.get("report", {}).get("claims", ()))
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                bar.update(len(batch))
        summary = summarise(out, self.checker.verifier.name)
        summary.seconds = time.perf_counter() - started
        summary.records_this_run, summary.claims_this_run = len(todo), claims
        (out / SUMMARY).write_text(json.dumps(asdict(summary), indent=2) + "\n")
        return summary

    def _check_batch(self, batch: list[tuple[int, bytes]]) -> list[dict[str, Any]]:
        rows, requests = [], []
        for number, raw in batch:
            try:
                requests.append((number, request_from_record(parse_record_line(raw), f"line-{number}")))
            except RecordError as error:
                rows.append({"line": number, "id": None, "status": "error", "error": str(error)})
        try:
            reports = self.checker.check_many([r for _, r in requests])
        except Exception:  # noqa: BLE001 - find the record that broke the batch, keep the rest
            if len(requests) == 1:
                raise
            return rows + [row for n, r in requests for row in self._check_one(n, r)]
        return rows + [_row(number, report) for (number, _), report in zip(requests, reports)]

    def _check_one(self, number: int, request: CheckRequest) -> list[dict[str, Any]]:
        try:
            return [_row(number, self.checker.check_many([request])[0])]
        except Exception as error:  # noqa: BLE001 - reported per record, the run goes on
            return [{"line": number, "id": request.id, "status": "error",
                     "error": f"checking failed: {type(error).__name__}: {error}"}]


def _row(number: int, report: Report) -> dict[str, Any]:
    status = "invalid_citations" if report.metrics.get("invalid_citations") else "ok"
    return {"line": number, "id": report.id, "status": status, "report": report.to_dict()}


def summarise(out: Path, verifier: str = "") -> EvalSummary:
    """The aggregate over every result saved in ``out`` (earlier, resumed runs included)."""
    rows = sorted((json.loads(line) for line in (out / RESULTS).read_text(encoding="utf-8").splitlines()
                   if line.strip()), key=lambda row: row["line"])
    summary = EvalSummary(records=len(rows), verifier=verifier)
    metrics = [row["report"]["metrics"] for row in rows if "report" in row]
    summary.checked = len(metrics)
    summary.failed = sum(row["status"] == "error" for row in rows)
    summary.with_invalid_citations = sum(row["status"] == "invalid_citations" for row in rows)
    if metrics:
        summary.claims = int(sum(m["claims"] for m in metrics))
        summary.citation_recall = _mean(m["citation_recall"] for m in metrics)
        summary.citation_precision = _mean(m["citation_precision"] for m in metrics)
        rates = [m["support_rate"] for m in metrics if "support_rate" in m]
        summary.support_rate = _mean(rates) if rates else None
        summary.uncited_claims = int(sum(m["uncited_claims"] for m in metrics))
        summary.invalid_citations = int(sum(m["invalid_citations"] for m in metrics))
    summary.problems = [_problem(row) for row in rows if row["status"] != "ok"]
    return summary


def _problem(row: dict[str, Any]) -> dict[str, Any]:
    if row["status"] == "error":
        return {"line": row["line"], "status": "error", "reason": row["error"]}
    bad = [f"[{c}]" for claim in row["report"]["claims"] for c in _invalid(claim)]
    return {"line": row["line"], "status": row["status"], "reason": f"cites no such source: {', '.join(bad)}"}


def _invalid(claim_result: dict[str, Any]) -> list[str]:
    return [bad for marker in claim_result["claim"]["markers"] for bad in marker["invalid"]]


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="record", disable=not enabled, dynamic_ncols=True)
