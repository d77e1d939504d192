"""One engine for every JSONL batch command (``citeline eval``, ``citeline revise``, the RARR eval).

A command supplies a ``Job``: how to read one record, how to process a batch of them, what in its
configuration changes a result, and how to summarise the rows. The engine does the rest, the same
way for every command:

- ``<out>/run.json`` pins the input (path and hash) and the job's whole configuration; ``--resume``
  continues only the same run, and refuses another one naming what differs;
- ``<out>/results.jsonl`` gets one line per record, keyed by its line number,
  ``{"line", "id", "status", <the job's result> | "error_kind" and "error", "warnings"?}``, appended
  and fsync'd batch by batch, so a crash (even kill -9) loses at most the batch in flight and a cut
  line is dropped on resume, while a line damaged in the middle is named rather than guessed at;
- every record is isolated: whatever goes wrong while reading or processing one record (bad JSON,
  a wrong field, a bug its input triggers) becomes that record's error line, with a short
  ``error_kind`` and reason, and the run goes on; a record that breaks a batch is found by retrying
  the batch one record at a time, so the outcome never depends on a record's batch;
- an environment failure (a missing package or model, a server that cannot be reached) stops the
  run at once with one message (``RunStopped``), instead of an error line per record;
- ``<out>/summary.json`` is the job's summary over every row in the folder, resumed runs included;
- an ``Engine`` runs the batches: ``LocalEngine`` here, or ``ray_engine.RayEngine`` on actors of a
  Ray cluster; both make each batch's lines with ``batch_lines``, and the run writes them in input
  order, so the two give byte-identical ``results.jsonl`` files and resume each other's runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

from citeline.core.errors import EnvironmentFailure
from citeline.pipeline.records import LONE_SURROGATE, SURROGATES_REPLACED, RecordError, parse_record_line

RESULTS = "results.jsonl"
RUN = "run.json"
SUMMARY = "summary.json"
# Failures of the machine rather than of a record: stop the run rather than blame every record.
# (Records are parsed before processing, so an OSError while processing is a model or a file that
# cannot be read, such as a verifier's missing weights.) A MemoryError is not one: a huge record
# causes it, and the record after it may well fit.
ENVIRONMENT_FAILURES = (EnvironmentFailure, ImportError, OSError)
MAX_REASON_CHARS = 300  # an exception's message can quote a whole answer: keep error lines short


class RunFolderError(RuntimeError):
    """The output folder holds another run, or results the user did not ask to keep."""


class RunStopped(EnvironmentFailure):
    """The environment failed; finished records are saved and the message says what to fix."""


class Job(Protocol):
    """What a batch command gives the engine."""

    command: str  # pinned in run.json: a folder holds one command's run
    batch_size: int  # records processed together
    failure: str  # how a failed record's error starts, e.g. "checking failed"

    def config(self) -> dict[str, Any]:
        """Everything that changes a result (verifier, splitter, model, settings): pinned for resume."""
        ...

    def warm_up(self) -> None:
        """Load models before the first record, so a missing one stops the run up front."""
        ...

    def read(self, data: dict[str, Any], number: int) -> Any:
        """One record's work item; RecordError (with the reason) for a record that cannot be used."""
        ...

    def process(self, items: Sequence[Any]) -> list[dict[str, Any]]:
        """One row per item, in order: ``{"id", "status", <result>}``."""
        ...

    def summarise(self, rows: list[dict[str, Any]]) -> Any:
        """The typed summary (a dataclass) of every saved row, in line order."""
        ...

    # Optional: ``counters``, names of integer attributes counting this run's work (e.g. claims
    # checked), which an engine with several copies of the job (one per Ray actor) adds up here.


Batch = list[tuple[int, bytes]]  # (line number, raw line) of records processed together


class Engine(Protocol):
    """Where a job's batches are processed: here (``LocalEngine``) or on a Ray cluster
    (``citeline.pipeline.ray_engine.RayEngine``). Either way the engine gives back, in input
    order, consecutive whole batches (one, or several done together): their record count and their
    ``results.jsonl`` text, made by ``batch_lines``; the run appends and fsyncs each, so both engines
    write the same bytes."""

    def run(self, job: Job, batches: list[Batch]) -> Iterator[tuple[int, str]]:
        ...


class LocalEngine:
    """Batches one after another in this process (the model loads once, here)."""

    def run(self, job: Job, batches: list[Batch]) -> Iterator[tuple[int, str]]:
        if batches:  # a finished run resumed only re-summarises: no model to load
            warm_up_job(job)
        for batch in batches:
            yield len(batch), batch_lines(job, batch)


def run_job(job: Job, input_path: Path, out: Path, resume: bool = False, overwrite: bool = False,
            limit: int | None = None, progress: bool = True, engine: Engine | None = None) -> Any:
    """Run ``job`` over ``input_path`` into ``out``; returns the job's summary (with timing added)."""
    done = prepare_run_folder(out, input_path, resume, overwrite, manifest(job, input_path))
    todo = [(n, raw) for n, raw in read_input(input_path) if n not in done]
    todo = todo[:limit] if limit is not None else todo
    batches = [todo[first:first + job.batch_size] for first in range(0, len(todo), job.batch_size)]
    started = time.perf_counter()  # loading models counts, as it always has in the run's speed
    with (out / RESULTS).open("a", encoding="utf-8") as sink, _progress(len(todo), progress, f"citeline {job.command}") as bar:
        for count, text in (engine or LocalEngine()).run(job, batches):
            sink.write(text)
            sink.flush()
            os.fsync(sink.fileno())
            bar.update(count)
    summary = job.summarise(read_results(out))
    summary.seconds, summary.records_this_run = time.perf_counter() - started, len(todo)
    (out / SUMMARY).write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def manifest(job: Job, input_path: Path) -> dict[str, Any]:
    return {"command": job.command, "input": str(input_path.resolve()), "input_sha256": sha256_of(input_path),
            "config": job.config()}


def prepare_run_folder(out: Path, input_path: Path, resume: bool, overwrite: bool,
                       pinned: dict[str, Any]) -> set[int]:
    """Make ``out`` ready for the run ``pinned`` describes; the line numbers already done on resume."""
    results, run_file = out / RESULTS, out / RUN
    if results.exists() and not (resume or overwrite):
        raise RunFolderError(f"{out} already holds results: pass --resume to continue that run "
                             f"or --overwrite to start again")
    if results.exists() and resume:
        previous = json.loads(run_file.read_text()) if run_file.exists() else {}
        differences = differences_between(previous, pinned)
        if differences:
            raise RunFolderError(f"{out} holds another run ({'; '.join(differences)}): resume with the same "
                                 f"input and settings, use another --out, or --overwrite to replace it")
        return _done_lines(results)
    out.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)  # first, so a kill before the new run.json leaves no stale results
    (out / SUMMARY).unlink(missing_ok=True)
    run_file.write_text(json.dumps(pinned, indent=2, ensure_ascii=False) + "\n")
    results.write_text("")
    return set()


def differences_between(previous: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two manifests, in words: the input, the command, each config key."""
    if previous.get("input_sha256") != now["input_sha256"]:
        return [f"another input: {previous.get('input', '?')}"]
    if previous.get("command", now["command"]) != now["command"]:
        return [f"made by citeline {previous['command']}, not {now['command']}"]
    if "config" not in previous:
        return ["made by an older citeline that did not record its settings"]
    before, after = previous["config"], now["config"]
    return [f"{key} was {before.get(key)!r}, now {after.get(key)!r}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_input(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw bytes) of every non-blank line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                yield number, raw


def read_results(out: Path) -> list[dict[str, Any]]:
    """Every saved row, in line order."""
    rows = (json.loads(line) for line in (out / RESULTS).read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(rows, key=lambda row: row["line"])


def mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _done_lines(results: Path) -> set[int]:
    """Line numbers with a saved result; a line cut short by a crash is dropped from the file."""
    data = results.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with results.open("r+b") as handle:
            handle.truncate(len(complete))
    return {_saved_line_number(results, number, line)
            for number, line in enumerate(complete.splitlines(), 1) if line.strip()}


def _saved_line_number(results: Path, number: int, line: bytes) -> int:
    """The input line number a saved row answers; a row damaged by hand is named, not guessed at."""
    try:
        row = json.loads(line)
        if isinstance(row, dict) and isinstance(row.get("line"), int):
            return row["line"]
    except ValueError:
        pass
    raise RunFolderError(f"line {number} of {results} is not a saved result (edited by hand?): delete that "
                         f"line to check its record again, or pass --overwrite to start the run again")


def warm_up_job(job: Job) -> None:
    """Load the job's models; a missing one stops the run (``RunStopped``)."""
    try:
        job.warm_up()
    except ENVIRONMENT_FAILURES as error:
        raise RunStopped(str(error)) from error


def batch_lines(job: Job, batch: Batch) -> str:
    """One batch's ``results.jsonl`` lines, in line order: the same text whichever engine runs it."""
    return "".join(_line(row) for row in _process_batch(job, batch))


def _process_batch(job: Job, batch: list[tuple[int, bytes]]) -> list[dict[str, Any]]:
    """Rows for one batch, in line order: bad records as error rows, the rest processed together."""
    rows: dict[int, dict[str, Any]] = {}
    items: list[tuple[int, str | None, Any]] = []
    for number, raw in batch:
        record_id = None
        try:
            data = parse_record_line(raw)
            record_id = _record_id(data)
            items.append((number, record_id, job.read(data, number)))
        except RecordError as error:
            rows[number] = _error_row(number, record_id, str(error), error.kind)
        except ENVIRONMENT_FAILURES as error:
            raise RunStopped(str(error)) from error
        except Exception as error:  # noqa: BLE001 - a record that trips a bug is that record's error
            rows[number] = _error_row(number, record_id, _reason("reading failed", error), "internal_error")
    for (number, _, _), row in zip(items, _process_items(job, items)):
        rows[number] = {"line": number, **row}
    return [rows[number] for number, _ in batch]


def _record_id(data: dict[str, Any]) -> str | None:
    record_id = data.get("id")
    return None if record_id is None else str(record_id)


def _reason(what: str, error: BaseException) -> str:
    return _shorten(f"{what}: {type(error).__name__}: {error}")


def _shorten(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 3] + "..."


def _process_items(job: Job, items: list[tuple[int, str | None, Any]]) -> list[dict[str, Any]]:
    if not items:
        return []
    try:
        return job.process([item for _, _, item in items])
    except ENVIRONMENT_FAILURES as error:
        raise RunStopped(str(error)) from error
    except Exception as error:  # noqa: BLE001 - find the record that broke the batch, keep the rest
        if len(items) > 1:
            return [row for item in items for row in _process_items(job, [item])]
        number, record_id, _ = items[0]
        return [{"id": record_id, "status": "error", "error_kind": "internal_error",
                 "error": _reason(job.failure, error)}]


def _error_row(number: int, record_id: str | None, reason: str, kind: str) -> dict[str, Any]:
    return {"line": number, "id": record_id, "status": "error", "error_kind": kind, "error": _shorten(reason)}


def _line(row: dict[str, Any]) -> str:
    """One JSONL line; a result that is not valid JSON (a NaN) is saved as that record's error, and
    text that is not valid Unicode (a lone surrogate a job let through) is replaced and reported."""
    try:
        text = json.dumps(row, ensure_ascii=False, allow_nan=False)
    except (ValueError, RecursionError) as error:
        reason = _reason("the result is not valid JSON", error)
        return json.dumps(_error_row(row["line"], row.get("id"), reason, "invalid_result")) + "\n"
    if LONE_SURROGATE.search(text):
        row = {**row, "warnings": [*row.get("warnings", ()), SURROGATES_REPLACED.format(where="the result")]}
        text = LONE_SURROGATE.sub("\ufffd", json.dumps(row, ensure_ascii=False, allow_nan=False))
    return text + "\n"


def _progress(total: int, enabled: bool, description: str):
    from citeline.core.progress import ProgressBar

    return ProgressBar(total, description, unit="record", enabled=enabled)
