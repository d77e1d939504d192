"""Batch runs on Ray Data: ``citeline eval --engine ray`` (the ``ray`` extra).

The run itself is unchanged (``runs.run_job``): the same ``run.json``, the same resume, the same
``results.jsonl`` and ``summary.json``. Only the batches are processed elsewhere: the driver turns
them into a Ray dataset (one row per batch: its line numbers and raw lines), ``map_batches`` sends
them to a pool of actors, each of which builds the job from its settings and loads its models once,
and the results come back in input order, so the driver appends and fsyncs them as the local engine
does. Every actor makes a batch's lines with ``runs.batch_lines``, from the very batch the local
engine would have made (the same records, in the same order), so the two engines write byte-identical
files: a model's scores can depend on what else is in its batch (padding), and here nothing differs.

Why not ``ray.data.read_json``: it parses the file with Arrow, where one bad line fails the whole
read and a record's line number and raw bytes are lost, and those are what a run is keyed on (a bad
record is its own error line, and resume skips lines already saved). The driver reads the input
anyway (its hash is pinned in run.json), so it ships the raw lines; workers need no access to the
file, which suits a remote cluster (``--address``).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any, Callable, Iterator

from citeline.core.errors import EnvironmentFailure
from citeline.pipeline.runs import Batch, Job, RunStopped, batch_lines, warm_up_job

# Variables the workers need to behave like this process (offline hub, quiet libraries); a local
# cluster inherits them anyway, a remote one gets them through the job's runtime environment.
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY",
                 "TRANSFORMERS_NO_ADVISORY_WARNINGS", "TOKENIZERS_PARALLELISM", "CITELINE_DATA", "HF_HOME",
                 "MKL_CBWR")  # the same bits from a product whatever the threads (cli.options.reproducible_numerics)
# Job batches per actor call: each call costs Ray some milliseconds of scheduling, which cheap
# checks (the lexical verifier: ~1 ms a record) would spend most of their time on; calls of many
# batches share it, while enough calls (CALLS_PER_ACTOR each) keep every actor busy to the end.
MAX_BATCHES_PER_CALL = 16
CALLS_PER_ACTOR = 4


class RayEngine:
    """Runs a job's batches on Ray actors. ``make_job`` builds the job where it runs (it is
    pickled to the actors: a module-level function or a frozen settings object's method);
    ``address``: an existing cluster ("auto" or "ray://host:10001"), else a local one is started
    with ``num_cpus`` (default: every core); ``workers``: actors (default: the cluster's CPUs
    divided by ``cpus_per_worker``); ``batches_per_call``: job batches per actor call (default:
    as many as leave each actor ``CALLS_PER_ACTOR`` calls, at most ``MAX_BATCHES_PER_CALL``)."""

    def __init__(self, make_job: Callable[[], Job], address: str | None = None, workers: int | None = None,
                 cpus_per_worker: float = 1.0, batches_per_call: int | None = None,
                 num_cpus: int | None = None, verbose: bool = False) -> None:
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        self.make_job = make_job
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.batches_per_call = batches_per_call
        self.num_cpus = num_cpus
        self.verbose = verbose
        self.actor_cpu_seconds = 0.0  # after a run: CPU time the actors spent on its batches

    def run(self, job: Job, batches: list[Batch]) -> Iterator[tuple[int, str]]:
        if not batches:
            return
        ray = _import_ray()
        started_here = self._connect(ray)
        try:
            counters = tuple(getattr(job, "counters", ()))
            with warnings.catch_warnings():
                if not self.verbose:
                    warnings.simplefilter("ignore")
                # One actor call's batches at a time: one append and fsync for all of them (the
                # driver's fsyncs would otherwise cap the run at about a thousand records/s).
                for block in self._dataset(ray, batches, counters).iter_batches(batch_size=None,
                                                                              batch_format="pyarrow"):
                    rows = block.to_pylist()
                    stopped = next((row["stopped"] for row in rows if row["stopped"]), "")
                    done = rows[:next((i for i, row in enumerate(rows) if row["stopped"]), len(rows))]
                    for name in counters:
                        setattr(job, name, getattr(job, name) + sum(row[name] for row in done))
                    self.actor_cpu_seconds += sum(row["cpu_seconds"] for row in done)
                    if done:  # the batches finished before a stop are kept, as the local engine keeps them
                        yield sum(row["count"] for row in done), "".join(row["text"] for row in done)
                    if stopped:
                        raise RunStopped(stopped)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Connect to the cluster, or start a local one; True when this run started it."""
        if ray.is_initialized():
            return False
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": self.verbose,
                                    "logging_level": logging.INFO if self.verbose else logging.ERROR,
                                    "runtime_env": {"env_vars": env} if env else None}
        if self.address:
            ray.init(address=self.address, **settings)
        else:
            ray.init(num_cpus=self.num_cpus or os.cpu_count(), **settings)
        return True

    def _dataset(self, ray: Any, batches: list[Batch], counters: tuple[str, ...]) -> Any:
        import pyarrow as pa
        from ray.data import ActorPoolStrategy, DataContext

        context = DataContext.get_current()
        context.execution_options.preserve_order = True  # results come back in input order
        context.enable_progress_bars = self.verbose  # the run has its own bar
        if not self.verbose:
            logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failure is raised here anyway
        kind = pa.struct([("line", pa.int64()), ("raw", pa.binary())])
        workers = min(self._workers(ray), len(batches))
        per_call = self.batches_per_call or min(MAX_BATCHES_PER_CALL, len(batches) // (workers * CALLS_PER_ACTOR))
        per_call = max(1, per_call)
        tables = [pa.table({"records": pa.array([[{"line": n, "raw": raw} for n, raw in batch]
                                                 for batch in batches[first:first + per_call]],
                                                pa.list_(kind))})
                  for first in range(0, len(batches), per_call)]
        workers = min(workers, len(tables))
        return ray.data.from_arrow(tables).map_batches(
            _JobActor, fn_constructor_args=(self.make_job, counters), batch_size=per_call, batch_format="pyarrow",
            compute=ActorPoolStrategy(size=workers), num_cpus=self.cpus_per_worker, max_restarts=0,
            max_task_retries=0)

    def _workers(self, ray: Any) -> int:
        if self.workers:
            return self.workers
        cpus = ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // self.cpus_per_worker))


class _JobActor:
    """One actor of the pool: builds the job and loads its models once, then processes batches.
    An environment failure (a missing model) does not kill the actor, which Ray would report as
    its own crash: it comes back as the batch's ``stopped`` reason, and the driver stops the run."""

    def __init__(self, make_job: Callable[[], Job], counters: tuple[str, ...]) -> None:
        self.counters = counters
        self.stopped = ""
        try:
            self.job = make_job()
            warm_up_job(self.job)
        except (RunStopped, EnvironmentFailure, ImportError, OSError) as error:
            self.stopped = str(error)

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        out: dict[str, list[Any]] = {"count": [], "text": [], "stopped": [], "cpu_seconds": [],
                                     **{name: [] for name in self.counters}}
        for records in table.column("records").to_pylist():
            started = time.process_time()
            text, counts = "", [0] * len(self.counters)
            if not self.stopped:
                before = [getattr(self.job, name) for name in self.counters]
                try:
                    text = batch_lines(self.job, [(r["line"], r["raw"]) for r in records])
                    counts = [getattr(self.job, name) - was for name, was in zip(self.counters, before)]
                except RunStopped as error:
                    self.stopped = str(error)
            out["text"].append(text)
            out["stopped"].append(self.stopped)
            out["count"].append(len(records))
            out["cpu_seconds"].append(time.process_time() - started)
            for name, count in zip(self.counters, counts):
                out[name].append(count)
        return pa.table({"count": pa.array(out["count"], pa.int64()), "text": pa.array(out["text"], pa.large_string()),
                         "stopped": pa.array(out["stopped"], pa.string()),
                         "cpu_seconds": pa.array(out["cpu_seconds"], pa.float64()),
                         **{name: pa.array(out[name], pa.int64()) for name in self.counters}})


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part used
    except ImportError as error:
        raise EnvironmentFailure("--engine ray needs Ray Data: pip install 'citeline[ray]'") from error
    return ray
