"""Speed and memory of ``citeline eval``; start-up time of ``citeline --help``; cold start of
``citeline check`` on one short answer, and its time on an answer of one million characters.

    .venv/bin/python benchmarks/check.py [--records 1000] [--data ../shared/data]

Records are made from AttributionBench dev: each claim (its own markers removed) cites all of
its references as [1]..[n]. Each configuration runs in a fresh subprocess so that peak memory
(max RSS) is its own; ratios are against the fastest configuration of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
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

TORCH = {"CITELINE_RUNTIME": "torch"}  # the verifiers' networks on torch instead of ONNX Runtime
CONFIGS = {  # name -> extra arguments of `citeline eval`, and environment variables
    "regex splitter + lexical verifier": (["--splitter", "regex", "--verifier", "lexical"], {}),
    "spaCy splitter + lexical verifier": (["--verifier", "lexical"], {}),
    "spaCy splitter + default verifier": ([], {}),
    "spaCy splitter + default verifier, torch runtime": ([], TORCH),
    "spaCy splitter + nli verifier (the default without its numeric checker)": (["--verifier", "nli"], {}),
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


def run_eval(input_path: Path, extra: list[str], env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        argv = ["eval", str(input_path), "--out", out, "--no-progress", *extra]
        done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True,
                              env={**os.environ, **env})
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"citeline eval {' '.join(extra)} failed:\n{done.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


SHORT_ANSWER = "The Eiffel Tower is not in Paris [1]."
SHORT_SOURCE = "The Eiffel Tower is located in Paris, France. It was completed in 1889."
CHECK_CONFIGS = {  # name -> extra arguments of `citeline check`, and environment variables
    "regex splitter + lexical verifier": (["--splitter", "regex", "--verifier", "lexical"], {}),
    "spaCy splitter + lexical verifier": (["--verifier", "lexical"], {}),
    "spaCy splitter + default verifier": ([], {}),
    "spaCy splitter + default verifier, torch runtime": ([], TORCH),
}


def long_answer(characters: int = 1_000_000) -> str:
    """Cited sentences of varied words up to ``characters``, on one line (the hard case for a parser)."""
    words = "the tower city river company revenue grew year market report said which from into over".split()
    sentences, size, i = [], 0, 0
    while size < characters:
        sentence = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(14)).capitalize()
        sentences.append(f"{sentence} {i} [{1 + i % 3}].")
        size += len(sentences[-1]) + 1
        i += 1
    return " ".join(sentences)


def check_seconds(folder: Path, answer: str, extra: list[str], repeats: int, env: dict[str, str] | None = None,
                  warm_up: bool = False) -> float:
    """Median wall time of ``citeline check`` in a fresh process: imports, model loads and all.
    ``warm_up``: one untimed run first (it exports the models to ONNX where that was never done)."""
    answer_file, source = folder / "answer.txt", folder / "source.txt"
    answer_file.write_text(answer, encoding="utf-8")
    source.write_text(SHORT_SOURCE, encoding="utf-8")
    command = [sys.executable, "-m", "citeline.pipeline.cli", "check", "--answer-file", str(answer_file),
               "--json", "--max-answer-chars", str(len(answer) + 1), *extra]
    command += ["--source", str(source)] * 3
    if warm_up:
        startup_seconds(command, 1, ok_codes=(0, 1), env=env)
    return startup_seconds(command, repeats, ok_codes=(0, 1), env=env)


def startup_seconds(command: list[str], repeats: int = 7, ok_codes: tuple[int, ...] = (0,),
                    env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, env={**os.environ, **(env or {})})
        if done.returncode not in ok_codes:
            raise RuntimeError(f"{' '.join(command[:6])}... exited {done.returncode}:\n{done.stderr[-2000:]}")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--long-answer-chars", type=int, default=1_000_000)
    args = parser.parse_args()
    if not (args.data / "attributionbench").is_dir():
        sys.exit(f"no AttributionBench data under {args.data}: pass --data or set CITELINE_DATA")

    with tempfile.TemporaryDirectory() as tmp:
        input_path = Path(tmp) / "records.jsonl"
        records = make_records(args.data, args.records)
        input_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        results = {name: run_eval(input_path, *config) for name, config in CONFIGS.items()}

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

    print(f"\n## citeline check, fresh process each time: one short answer (median of 3), and one of "
          f"{args.long_answer_chars:,} characters (once)\n")
    print("| configuration | short answer (s) | long answer (s) |")
    print("|---|---|---|")
    text = long_answer(args.long_answer_chars)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (extra, env) in CHECK_CONFIGS.items():
            short = check_seconds(Path(tmp), SHORT_ANSWER, extra, repeats=3, env=env, warm_up=True)
            # The long answer with the default verifier takes minutes of model time: shown for the
            # pipeline's own cost (splitting, citations, report) only.
            long = check_seconds(Path(tmp), text, extra, repeats=1) if "lexical" in name else None
            print(f"| {name} | {short:.2f} | {'' if long is None else f'{long:.1f}'} |")
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.serve_helpers import running_server  # the tests' launcher: a free port, always stopped

        with running_server(ready_within=300) as url:
            # once: a repeated answer would come from the server's verifier cache
            short = check_seconds(Path(tmp), SHORT_ANSWER, ["--server", url], repeats=1)
            print(f"| `--server`: a running `citeline serve` (default verifier, spaCy) | {short:.2f} | |")


if __name__ == "__main__":
    main()
