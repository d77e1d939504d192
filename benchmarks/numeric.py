"""Numbers: the TAT-QA numeric contrast set and the sandbox's reproduction of gold programs.

    python benchmarks/numeric.py                        # data from ../shared/data/finance
    python benchmarks/numeric.py --data DIR --split test_gold --out contrast.jsonl

(Not "numbers.py": run as a script, that name would shadow the standard library's ``numbers``.)

Prints three markdown tables:
1. Contrast (``evals/numeric_contrast.py``, TAT-QA dev by default): macro-F1 of original vs
   one-number edit, share of originals accepted and pairs a second, for the numeric checker
   alone, ``NumericVerifier(base=LexicalVerifier())``, ``LexicalVerifier()`` alone, the default
   verifier and the previous default (``presence``), each model loaded once for both sets.
2. The same contrast on FinQA-style questions from ConvFinQA-PoT dev (a development set).
3. Sandbox reproduction (``evals/program_repro.py``): ConvFinQA-PoT gold programs and TAT-QA
   gold derivations (dev and test_gold) run in the sandbox; the share that reproduce the gold
   answer, failures by kind, and the first failures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from citeline.evals.contrast import evaluate, render_markdown
from citeline.evals.numeric_contrast import build_convfinqa_rows, build_rows, write_rows
from citeline.evals.program_repro import convfinqa_cases, evaluate as reproduce, tatqa_cases
from citeline.verifiers.lexical import LexicalVerifier
from citeline.verifiers.numeric import NumericVerifier

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "finance"


def contrast_table(title: str, rows: list[dict], verifiers: list) -> str:
    results = [evaluate(verifier, rows) for verifier in verifiers]
    speed = "\n".join(f"- {r.verifier}: {r.rows / max(r.seconds, 1e-9):,.0f} rows/s" for r in results)
    return f"{title}: {len(rows) // 2} pairs\n\n" + render_markdown(results) + "\n\n" + speed


def reproduction_table(data: Path, workers: int) -> str:
    suites = [("ConvFinQA-PoT dev", list(convfinqa_cases(data / "convfinqa_pot" / "convfinqa_dev.jsonl"))),
              ("TAT-QA dev", list(tatqa_cases(data / "tatqa" / "tatqa_dataset_dev.jsonl"))),
              ("TAT-QA test_gold", list(tatqa_cases(data / "tatqa" / "tatqa_dataset_test_gold.jsonl")))]
    lines = ["| programs | cases | reproduced | rate % | failures | seconds |", "|---|---|---|---|---|---|"]
    notes, total, good = [], 0, 0
    for name, cases in suites:
        started = time.perf_counter()
        result = reproduce(name, cases, workers=workers)
        seconds = time.perf_counter() - started
        total, good = total + result.cases, good + result.reproduced
        failures = ", ".join(f"{kind} {count}" for kind, count in result.failures.most_common()) or "none"
        lines.append(f"| {name} | {result.cases} | {result.reproduced} | {result.rate:.2f} | {failures} | {seconds:.1f} |")
        notes += [f"- {name}: {example}" for example in result.examples]
    lines.append(f"| all | {total} | {good} | {100 * good / max(total, 1):.2f} | | |")
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the finance data folder")
    parser.add_argument("--split", default="dev", choices=["dev", "test_gold"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the contrast rows (JSONL) here")
    parser.add_argument("--workers", type=int, default=2, help="sandbox worker processes")
    args = parser.parse_args()
    from citeline.verifiers.default import load_verifier

    # the default (numbers + the entailment model) against the previous default, which had no
    # numeric checker; loaded once for both sets
    models = [load_verifier("default"), load_verifier("presence")]
    tatqa = build_rows(args.data / "tatqa" / f"tatqa_dataset_{args.split}.jsonl", seed=args.seed)
    if args.out:
        write_rows(tatqa, args.out)
    print(contrast_table(f"TAT-QA {args.split} (seed {args.seed})", tatqa,
                         [NumericVerifier(), NumericVerifier(base=LexicalVerifier()), LexicalVerifier(), *models]))
    print()
    # FinQA-style questions: a development set (see evals/numeric_contrast.py)
    convfinqa = build_convfinqa_rows(args.data / "convfinqa_pot" / "convfinqa_dev.jsonl", seed=args.seed)
    print(contrast_table(f"ConvFinQA-PoT dev, first standalone turns (seed {args.seed})", convfinqa,
                         [NumericVerifier(), LexicalVerifier(), *models]))
    print()
    print(reproduction_table(args.data, args.workers))


if __name__ == "__main__":
    main()
