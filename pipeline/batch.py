"""``citeline eval``: batch citation checking over a JSONL file, on the run engine (``runs.py``).

``<out>/results.jsonl`` gets one line per input record, keyed by its line number:
``{"line", "id", "status": "ok" | "invalid_citations" | "no_claims" | "error",
"report" | "error_kind" and "error", "warnings"?}``. An answer with no claim to check (nothing is
left once its citation markers are removed) is ``no_claims``: it is neither ok nor averaged into
the citation metrics as 0.0 (ALCE, too, skips an output without sentences).
``<out>/run.json`` pins the input and the checker's configuration (verifier, splitter, checks,
``alce_compat``), so ``--resume`` never mixes two runs, and ``<out>/summary.json`` holds the
aggregate over every result in the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from citeline.core.protocols import clear_cache
from citeline.core.sentences import DEFAULT_SPLITTER, make_splitter
from citeline.core.types import Report
from citeline.pipeline.alce import AlceChecker
from citeline.pipeline.check import CheckRequest, CitationChecker
from citeline.pipeline.records import MAX_ANSWER_CHARS, request_from_record
from citeline.pipeline.runs import (RESULTS, RUN, SUMMARY, Engine, RunFolderError, RunStopped, mean, read_results,
                                    run_job)

__all__ = ["NO_CLAIMS", "RESULTS", "RUN", "SUMMARY", "EvalJob", "EvalRun", "EvalSettings", "EvalSummary", "RunFolderError",
           "RunStopped", "report_status", "summarise"]

NO_CLAIMS = "the answer has no claim to check (nothing is left once its citation markers are removed)"


@dataclass
class EvalSummary:
    records: int = 0
    checked: int = 0  # records with at least one claim checked (the means are over these)
    failed: int = 0  # records that could not be checked at all
    no_claims: int = 0  # answers with nothing to check
    with_invalid_citations: int = 0  # checked, but citing a source that does not exist
    with_warnings: int = 0  # checked, with a warning about the input (an empty source, invalid Unicode)
    claims: int = 0
    unsupported_claims: int = 0  # claims whose citations do not support them (ALCE recall 0)
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
        """0: every claim is supported by what it cites; 1: a finding (unsupported claim, bad record)."""
        findings = self.failed or self.no_claims or self.with_invalid_citations or self.unsupported_claims
        return 1 if findings else 0


@dataclass(frozen=True)
class EvalSettings:
    """An eval job as plain settings (what ``citeline eval``'s flags say), so that a Ray actor can
    build the same job, and load its models, where it runs."""

    verifier: str = "default"
    splitter: str = DEFAULT_SPLITTER
    check_every_source: bool = True
    batch_size: int = 16
    max_answer_chars: int | None = MAX_ANSWER_CHARS
    alce_compat: bool = False  # ALCE eval.py's arithmetic (AlceChecker; its own splitter, no source check)

    def checker(self) -> CitationChecker | AlceChecker:
        """The checker these settings name; nothing loads until first use (a bad spec: ValueError)."""
        from citeline.core.claims import ClaimSplitter
        from citeline.verifiers.default import load_verifier

        if self.alce_compat:
            return AlceChecker(load_verifier(self.verifier))
        return CitationChecker(load_verifier(self.verifier), ClaimSplitter(make_splitter(self.splitter)),
                               check_every_source=self.check_every_source)

    def job(self) -> EvalJob:
        return EvalJob(self.checker(), self.batch_size, self.max_answer_chars)


class EvalJob:
    """Checks records with a ``CitationChecker`` (or ALCE's arithmetic, ``AlceChecker``),
    ``batch_size`` records per verifier batch."""

    command = "eval"
    failure = "checking failed"
    counters = ("claims_checked",)

    def __init__(self, checker: CitationChecker | AlceChecker, batch_size: int = 16,
                 max_answer_chars: int | None = MAX_ANSWER_CHARS) -> None:
        self.checker = checker
        self.batch_size = batch_size
        self.max_answer_chars = max_answer_chars
        self.claims_checked = 0

    def config(self) -> dict[str, Any]:
        return {"verifier": self.checker.verifier.name, **self.checker.settings(),
                "max_answer_chars": self.max_answer_chars}

    def warm_up(self) -> None:
        self.checker.warm_up()

    def read(self, data: dict[str, Any], number: int) -> CheckRequest:
        return request_from_record(data, f"line-{number}", self.max_answer_chars)

    def process(self, requests: Sequence[CheckRequest]) -> list[dict[str, Any]]:
        clear_cache(self.checker.verifier)  # a record's scores depend on its batch alone, on any engine
        reports = self.checker.check_many(requests)
        self.claims_checked += sum(len(report.claims) for report in reports)
        return [_row(report) for report in reports]

    def summarise(self, rows: list[dict[str, Any]]) -> EvalSummary:
        summary = summarise_rows(rows, self.checker.verifier.name)
        summary.claims_this_run = self.claims_checked
        return summary


def report_status(report: Report) -> str:
    """One word for a report: no_claims, invalid_citations or ok (checked; see its claims for support)."""
    if not report.claims:
        return "no_claims"
    return "invalid_citations" if report.metrics.get("invalid_citations") else "ok"


def _row(report: Report) -> dict[str, Any]:
    row = {"id": report.id, "status": report_status(report), "report": report.to_dict()}
    if report.metadata.get("warnings"):
        row["warnings"] = list(report.metadata["warnings"])
    return row


class EvalRun:
    """Checks every record of ``input_path`` into ``out`` (see ``EvalJob`` and ``runs.run_job``)."""

    def __init__(self, checker: CitationChecker | AlceChecker, batch_size: int = 16,
                 max_answer_chars: int | None = MAX_ANSWER_CHARS) -> None:
        self.checker = checker
        self.batch_size = batch_size
        self.max_answer_chars = max_answer_chars

    def run(self, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True, engine: Engine | None = None) -> EvalSummary:
        job = EvalJob(self.checker, self.batch_size, self.max_answer_chars)
        return run_job(job, input_path, out, resume, overwrite, limit, progress, engine)


def summarise(out: Path, verifier: str = "") -> EvalSummary:
    """The aggregate over every result saved in ``out`` (earlier, resumed runs included)."""
    return summarise_rows(read_results(out), verifier)


def summarise_rows(rows: list[dict[str, Any]], verifier: str = "") -> EvalSummary:
    summary = EvalSummary(records=len(rows), verifier=verifier)
    checked = [row["report"] for row in rows if "report" in row and row["status"] != "no_claims"]
    metrics = [report["metrics"] for report in checked]
    summary.checked = len(metrics)
    summary.failed = sum(row["status"] == "error" for row in rows)
    summary.no_claims = sum(row["status"] == "no_claims" for row in rows)
    summary.with_invalid_citations = sum(row["status"] == "invalid_citations" for row in rows)
    summary.with_warnings = sum(bool(row.get("warnings")) for row in rows)
    summary.unsupported_claims = sum(c["citations"]["recall"] < 1 for report in checked for c in report["claims"])
    if metrics:
        summary.claims = int(sum(m["claims"] for m in metrics))
        summary.citation_recall = mean(m["citation_recall"] for m in metrics)
        summary.citation_precision = mean(m["citation_precision"] for m in metrics)
        rates = [m["support_rate"] for m in metrics if "support_rate" in m]
        summary.support_rate = mean(rates) if rates else None
        summary.uncited_claims = int(sum(m["uncited_claims"] for m in metrics))
        summary.invalid_citations = int(sum(m["invalid_citations"] for m in metrics))
    summary.problems = [problem for row in rows for problem in _problems(row)]
    return summary


def _problems(row: dict[str, Any]) -> list[dict[str, Any]]:
    """What the summary lists about a row: a record that failed or cites no such source, an answer
    with no claims, and every warning; an unsupported claim is counted, and shown by --details."""
    found = [{"line": row["line"], "status": "warning", "reason": warning} for warning in row.get("warnings", ())]
    if row["status"] == "error":
        found.insert(0, {"line": row["line"], "status": "error", "reason": row["error"]})
    elif row["status"] == "no_claims":
        found.insert(0, {"line": row["line"], "status": "no_claims", "reason": NO_CLAIMS})
    elif row["status"] == "invalid_citations":
        bad = [f"[{c}]" for claim in row["report"]["claims"] for c in _invalid(claim)]
        reason = f"cites no such source: {', '.join(bad)}"
        found.insert(0, {"line": row["line"], "status": row["status"], "reason": reason})
    return found


def _invalid(claim_result: dict[str, Any]) -> list[str]:
    return [bad for marker in claim_result["claim"]["markers"] for bad in marker["invalid"]]
