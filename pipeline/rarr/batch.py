"""``citeline revise`` over a JSONL file: results written as they go, resumable, errors per line.

Input records: ``{"id"?, "text"}`` (``answer`` or ``claim`` work in place of ``text``).
``<out>/results.jsonl`` gets one line per record, keyed by its line number:
``{"line", "id", "status": "ok" | "error", "result" | "error"}``; ``<out>/summary.json`` holds
the aggregate over every result in the folder (resumed runs included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from citeline.core.protocols import warm_up
from citeline.core.sentences import splitter_name
from citeline.pipeline.rarr.metrics import f1_ap
from citeline.pipeline.rarr.results import RarrCounters
from citeline.pipeline.rarr.revise import Reviser
from citeline.pipeline.records import RecordError
from citeline.pipeline.runs import RESULTS, SUMMARY, mean, read_results, run_job
from citeline.retrievers.corpus import corpus_hash

__all__ = ["RESULTS", "SUMMARY", "ReviseJob", "ReviseRun", "ReviseSummary", "read_results", "summarise",
           "text_from_record"]
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


class ReviseJob:
    """Revises records' texts with a ``Reviser``, one record at a time (RARR is sequential per text)."""

    command = "revise"
    failure = "revising failed"
    batch_size = 1  # each record is appended and fsync'd as soon as it is revised

    def __init__(self, reviser: Reviser) -> None:
        self.reviser = reviser

    def config(self) -> dict[str, Any]:
        llm, retriever = self.reviser.llm, self.reviser.retriever
        passages = getattr(retriever, "passages", None)
        return {"rarr": asdict(self.reviser.config), "verifier": self.reviser.verifier.name,
                "llm": getattr(llm, "name", type(llm).__name__), "model": _model_of(llm),
                "retriever": getattr(retriever, "name", type(retriever).__name__),
                "corpus": corpus_hash(passages) if passages else None,
                "splitter": splitter_name(self.reviser.sentences)}

    def warm_up(self) -> None:
        for stage in (self.reviser.sentences, self.reviser.verifier, self.reviser.llm):
            warm_up(stage)

    def read(self, data: dict[str, Any], number: int) -> tuple[str, str]:
        return str(data.get("id", f"line-{number}")), text_from_record(data)

    def process(self, items: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"id": record_id, "status": "ok", "result": self.reviser.revise(text, id=record_id).to_dict()}
                for record_id, text in items]

    def summarise(self, rows: list[dict[str, Any]]) -> ReviseSummary:
        return summarise_rows(rows)


class ReviseRun:
    """Revises every record of ``input_path`` into the folder ``out`` (see ``ReviseJob``)."""

    def __init__(self, reviser: Reviser) -> None:
        self.reviser = reviser

    def run(self, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True) -> ReviseSummary:
        return run_job(ReviseJob(self.reviser), input_path, out, resume, overwrite, limit, progress)


def _model_of(llm: Any) -> str | None:
    model = getattr(llm, "model_path", None) or getattr(llm, "model", None)
    return str(model) if model else None


def summarise(out: Path) -> ReviseSummary:
    """The aggregate over every result saved in ``out``."""
    return summarise_rows(read_results(out))


def summarise_rows(rows: list[dict[str, Any]]) -> ReviseSummary:
    results = [row["result"] for row in rows if row["status"] == "ok"]
    summary = ReviseSummary(records=len(rows), revised=len(results))
    summary.failed = sum(row["status"] == "error" for row in rows)
    summary.problems = [{"line": row["line"], "reason": row["error"]} for row in rows if row["status"] == "error"]
    if results:
        metrics = [r["metrics"] for r in results]
        summary.changed = sum(r["revised"] != r["original"] for r in results)
        summary.claims = sum(m["claims_before"] for m in metrics)
        summary.attribution_before = mean(m["attribution_before"] for m in metrics)
        summary.attribution_after = mean(m["attribution_after"] for m in metrics)
        summary.preservation = mean(m["preservation"] for m in metrics)
        summary.f1_ap = f1_ap(summary.attribution_after, summary.preservation)
        totals = RarrCounters()
        for r in results:
            totals.add(RarrCounters(**r["counters"]))
        summary.counters = asdict(totals)
    return summary

