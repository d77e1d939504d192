"""``citeline eval``: batch citation checking over a JSONL file, on the run engine (``runs.py``).

``<out>/results.jsonl`` gets one line per input record, keyed by its line number:
``{"line", "id", "status": "ok" | "invalid_citations" | "error", "report" | "error"}``.
``<out>/run.json`` pins the input and the checker's configuration (verifier, splitter, checks),
so ``--resume`` never mixes two runs, and ``<out>/summary.json`` holds the aggregate over every
result in the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from citeline.core.protocols import warm_up
from citeline.core.sentences import splitter_name
from citeline.pipeline.check import CheckRequest, CitationChecker
from citeline.pipeline.records import request_from_record
from citeline.pipeline.runs import RESULTS, RUN, SUMMARY, RunFolderError, RunStopped, mean, read_results, run_job

__all__ = ["RESULTS", "RUN", "SUMMARY", "EvalJob", "EvalRun", "EvalSummary", "RunFolderError", "RunStopped",
           "summarise"]


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
    verifier: str = ""  # the verifier of every row (run.json pins it across resumed runs)
    seconds: float = 0.0  # this run only (a resumed run counts its own work)
    records_this_run: int = 0
    claims_this_run: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # {"line", "status", "reason"}

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.with_invalid_citations else 0


class EvalJob:
    """Checks records with a ``CitationChecker``, ``batch_size`` records per verifier batch."""

    command = "eval"
    failure = "checking failed"

    def __init__(self, checker: CitationChecker, batch_size: int = 16) -> None:
        self.checker = checker
        self.batch_size = batch_size
        self.claims_checked = 0

    def config(self) -> dict[str, Any]:
        return {"verifier": self.checker.verifier.name, "splitter": splitter_name(self.checker.claims.sentences),
                "max_citations": self.checker.max_citations, "check_every_source": self.checker.check_every_source}

    def warm_up(self) -> None:
        warm_up(self.checker.claims.sentences)
        warm_up(self.checker.verifier)

    def read(self, data: dict[str, Any], number: int) -> CheckRequest:
        return request_from_record(data, f"line-{number}")

    def process(self, requests: Sequence[CheckRequest]) -> list[dict[str, Any]]:
        reports = self.checker.check_many(requests)
        self.claims_checked += sum(len(report.claims) for report in reports)
        return [{"id": report.id, "status": "invalid_citations" if report.metrics.get("invalid_citations") else "ok",
                 "report": report.to_dict()} for report in reports]

    def summarise(self, rows: list[dict[str, Any]]) -> EvalSummary:
        summary = summarise_rows(rows, self.checker.verifier.name)
        summary.claims_this_run = self.claims_checked
        return summary


class EvalRun:
    """Checks every record of ``input_path`` into ``out`` (see ``EvalJob`` and ``runs.run_job``)."""

    def __init__(self, checker: CitationChecker, batch_size: int = 16) -> None:
        self.checker = checker
        self.batch_size = batch_size

    def run(self, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True) -> EvalSummary:
        return run_job(EvalJob(self.checker, self.batch_size), input_path, out, resume, overwrite, limit, progress)


def summarise(out: Path, verifier: str = "") -> EvalSummary:
    """The aggregate over every result saved in ``out`` (earlier, resumed runs included)."""
    return summarise_rows(read_results(out), verifier)


def summarise_rows(rows: list[dict[str, Any]], verifier: str = "") -> EvalSummary:
    summary = EvalSummary(records=len(rows), verifier=verifier)
    metrics = [row["report"]["metrics"] for row in rows if "report" in row]
    summary.checked = len(metrics)
    summary.failed = sum(row["status"] == "error" for row in rows)
    summary.with_invalid_citations = sum(row["status"] == "invalid_citations" for row in rows)
    if metrics:
        summary.claims = int(sum(m["claims"] for m in metrics))
        summary.citation_recall = mean(m["citation_recall"] for m in metrics)
        summary.citation_precision = mean(m["citation_precision"] for m in metrics)
        rates = [m["support_rate"] for m in metrics if "support_rate" in m]
        summary.support_rate = mean(rates) if rates else None
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
