"""``citeline eval`` on the local engine and on Ray Data: the same bytes, throughput, overhead, and
records/s projected to N workers from the measured per-actor throughput.

    .venv/bin/python benchmarks/engines.py --records 20000 --verifier lexical --splitter regex
    .venv/bin/python benchmarks/engines.py --records 500            # the default verifier

Records are AttributionBench dev claims, each citing all its references (``benchmarks/check.py``),
repeated to the count asked. Every engine checks the same file with the same settings into its own
folder; each Ray run starts a fresh local cluster of ``--cpus`` CPUs (every core by default) with
the given number of actors, one CPU each. Timing, per run:

- total: the whole run, Ray's start and the actors' model loads included;
- start-up: before the first batch's results were written (for Ray: the cluster's start, then the
  actors' start and model load, then one batch);
- steady records/s: the records after the first results over the time after them;
- records per CPU-second: the records over the CPU time spent checking them (the local process's
  own; for Ray, the actors' time inside their calls, which other work on the machine does not
  inflate as it does wall time).

The projection assumes one core per actor, as many free cores as actors, and input records like
these: N actors check N times the records per CPU-second of one actor, up to what the driver can
take: it only packs batches into the dataset and appends and fsyncs the lines, and that rate is
measured here too (on its own core; here it shares two with the actors and whatever else runs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check import make_records  # noqa: E402 - benchmarks/check.py, beside this file

from citeline.core.paths import data_dir  # noqa: E402
from citeline.pipeline.cli.options import quiet_libraries, reproducible_numerics  # noqa: E402

PROJECTED = (4, 8, 16, 32, 64)


class Timed:
    """Wraps an engine: when each batch's lines came back."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.marks: list[tuple[float, int]] = []

    def run(self, job, batches):
        for count, text in self.engine.run(job, batches):
            self.marks.append((time.perf_counter(), count))
            yield count, text


def one_run(settings, input_path: Path, out: Path, engine) -> dict:
    from citeline.pipeline.runs import run_job

    timed = Timed(engine)
    started, cpu = time.perf_counter(), time.process_time()
    summary = run_job(settings.job(), input_path, out, overwrite=True, progress=False, engine=timed)
    total = time.perf_counter() - started
    cpu = getattr(engine, "actor_cpu_seconds", 0.0) or time.process_time() - cpu
    first_time, first_count = timed.marks[0]
    rest = summary.records_this_run - first_count
    steady = rest / (timed.marks[-1][0] - first_time) if rest and timed.marks[-1][0] > first_time else float("nan")
    return {"total": total, "startup": first_time - started, "steady": steady, "records": summary.records_this_run,
            "claims": summary.claims_this_run, "rate": summary.records_this_run / total,
            "per_cpu_second": summary.records_this_run / cpu if cpu else float("nan")}


def driver_rate(input_path: Path, results: Path, batch_size: int) -> float:
    """Records/s the driver alone manages: reading the input, packing batches into Arrow, appending
    and fsyncing a finished run's lines, one call's worth (MAX_BATCHES_PER_CALL batches) at a time."""
    import pyarrow as pa

    from citeline.pipeline.ray_engine import MAX_BATCHES_PER_CALL
    from citeline.pipeline.runs import read_input

    started = time.perf_counter()
    todo = list(read_input(input_path))
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    kind = pa.struct([("line", pa.int64()), ("raw", pa.binary())])
    pa.array([[{"line": n, "raw": raw} for n, raw in batch] for batch in batches], pa.list_(kind))
    lines = results.read_text(encoding="utf-8").splitlines(keepends=True)
    per_call = batch_size * MAX_BATCHES_PER_CALL
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "r.jsonl", "a", encoding="utf-8") as sink:
        for first in range(0, len(lines), per_call):
            sink.write("".join(lines[first:first + per_call]))
            sink.flush()
            os.fsync(sink.fileno())
    return len(todo) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--verifier", default="default")
    parser.add_argument("--splitter", default="spacy")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="Ray actor counts to measure (comma-separated)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray cluster")
    parser.add_argument("--data", type=Path, default=data_dir())
    args = parser.parse_args()
    reproducible_numerics()
    quiet_libraries()
    from citeline.pipeline.batch import EvalSettings
    from citeline.pipeline.ray_engine import RayEngine
    from citeline.pipeline.runs import LocalEngine

    settings = EvalSettings(verifier=args.verifier, splitter=args.splitter, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        input_path = folder / "answers.jsonl"
        input_path.write_text("".join(json.dumps(r) + "\n" for r in make_records(args.data, args.records)))
        print(f"{args.records:,} records, verifier {args.verifier}, splitter {args.splitter}, batch size "
              f"{args.batch_size}, {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.1f}\n",
              flush=True)
        runs = {"local": one_run(settings, input_path, folder / "local", LocalEngine())}
        reference = (folder / "local" / "results.jsonl").read_bytes()
        identical = {"local": "-"}
        for workers in [int(w) for w in args.workers.split(",")]:
            name = f"ray, {workers} actor{'s' if workers > 1 else ''}"
            engine = RayEngine(settings.job, workers=workers, num_cpus=args.cpus)
            runs[name] = one_run(settings, input_path, folder / name, engine)
            got = (folder / name / "results.jsonl").read_bytes()
            differing = sum(a != b for a, b in zip(got.splitlines(), reference.splitlines()))
            identical[name] = "yes" if got == reference else f"NO ({differing} lines differ)"
        driver = driver_rate(input_path, folder / "local" / "results.jsonl", args.batch_size)

    local = runs["local"]
    print("| engine | total s | start-up s | records/s (whole run) | steady records/s | records per CPU-second | "
          "claims | results.jsonl identical to local |")
    print("|---|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        print(f"| {name} | {run['total']:.1f} | {run['startup']:.1f} | {run['rate']:.1f} | {run['steady']:.1f} | "
              f"{run['per_cpu_second']:.1f} | {run['claims']} | {identical[name]} |")
    ray_runs = {int(n.split()[1]): r for n, r in runs.items() if n.startswith("ray")}
    if ray_runs:
        per_actor = min(run["per_cpu_second"] for run in ray_runs.values())
        overhead = min(run["startup"] for run in ray_runs.values()) - local["startup"]
        print(f"\nRay's overhead: {overhead:.1f} s more start-up than the local engine (cluster, actors, model "
              f"loads); one actor checks {per_actor:.1f} records per CPU-second (the lower of the runs); the "
              f"driver alone takes {driver:,.0f} records/s.\n")
        print("| workers | records/s | how |")
        print("|---|---|---|")
        for workers, run in sorted(ray_runs.items()):
            print(f"| {workers} | {run['steady']:.1f} | measured (steady, on this machine as loaded) |")
        for workers in PROJECTED:
            rate = min(workers * per_actor, driver)
            capped = " (the driver's limit)" if rate == driver else ""
            print(f"| {workers} | {rate:,.0f} | projected: {workers} x {per_actor:.1f}{capped} |")


if __name__ == "__main__":
    main()
