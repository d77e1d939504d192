"""Speed and memory of ``citeline eval`` and start-up time of ``citeline --help``.

    .venv/bin/python benchmarks/check.py [--records 1000] [--data ../shared/data]

Records are made from AttributionBench dev: each claim (its own markers removed) cites all of
its references as [1]..[n]. Each configuration runs in a fresh subprocess so that peak memory
(max RSS) is its own; ratios are against the fastest configuration of the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from citeline.core.paths import data_dir

DEFAULT_DATA = data_dir()
MARKER = re.compile(r"\s*\[\d+\]")

CONFIGS = {  # name -> extra arguments of `citeline eval`
    "regex splitter + lexical verifier": ["--splitter", "regex", "--verifier", "lexical"],
    "spaCy splitter + lexical verifier": ["--verifier", "lexical"],
    "spaCy splitter + default verifier": [],
}

_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from citeline.pipeline.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - started
summary = json.loads((Path(sys.argv[sys.argv.index('--out') + 1]) / 'summary.json').read_text())
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print('RESULT', json.dumps({'code': code, 'seconds': elapsed, 'records': summary['records'],
                            'claims': summary['claims'], 'peak_mb': peak_mb, 'verifier': summary['verifier']}))
"""


def make_records(data: Path, count: int) -> list[dict]:
    path = data / "attributionbench" / "dev_all_subset_balanced.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = []
    for i in range(count):
        row = rows[i % len(rows)]
        citations = "".join(f"[{n}]" for n in range(1, len(row["references"]) + 1))
        answer = MARKER.sub("", row["claim"]).rstrip(". ") + f" {citations}."
        records.append({"id": f"{row['id']}#{i}", "question": row["question"], "answer": answer,
                        "sources": row["references"] or ["(no reference)"]})
    return records


def run_eval(input_path: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        argv = ["eval", str(input_path), "--out", out, "--no-progress", *extra]
        done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"citeline eval {' '.join(extra)} failed:\n{done.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def startup_seconds(command: list[str], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "attributionbench").is_dir():
        sys.exit(f"no AttributionBench data under {args.data}: pass --data or set CITELINE_DATA")

    with tempfile.TemporaryDirectory() as tmp:
        input_path = Path(tmp) / "records.jsonl"
        records = make_records(args.data, args.records)
        input_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        results = {name: run_eval(input_path, extra) for name, extra in CONFIGS.items()}

    fastest = max(r["records"] / r["seconds"] for r in results.values())
    print(f"## citeline eval on {args.records} AttributionBench-dev records (2-core CPU)\n")
    print("| configuration | verifier | records/s | claims/s | peak RSS (MB) | speed vs fastest |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        rate = r["records"] / r["seconds"]
        print(f"| {name} | {r['verifier']} | {rate:.1f} | {r['claims'] / r['seconds']:.1f} | "
              f"{r['peak_mb']:.0f} | {rate / fastest:.3g}x |")

    python = startup_seconds([sys.executable, "-c", "pass"])
    helps = startup_seconds([sys.executable, "-m", "citeline.pipeline.cli", "--help"])
    print("\n## start-up\n")
    print("| command | median seconds | vs bare `python -c pass` |")
    print("|---|---|---|")
    print(f"| `python -c pass` | {python:.3f} | 1.00x |")
    print(f"| `citeline --help` | {helps:.3f} | {helps / python:.2f}x |")


if __name__ == "__main__":
    main()
