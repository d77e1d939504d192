"""``citeline bench <benchmark>``. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse
from pathlib import Path

from citeline.pipeline.cli.options import add_command, add_verifier

ATTRIBUTIONBENCH_EXAMPLES = """\
examples:
  citeline bench attributionbench --split dev --verifier default
  citeline bench attributionbench --split id-sample --verifier lexical --out results.json
  citeline bench attributionbench --split dev --verifier path/to/hf-model --data-dir ../shared/data/attributionbench
  OPENAI_BASE_URL=http://127.0.0.1:8000/v1 citeline bench attributionbench --verifier judge:openai:my-model --limit 50

The verifier sees the references joined as the evidence and "question + claim" as the claim.
Scores: per src_dataset sklearn macro-F1 (attributable = 1), FP% and FN% of rows, ID-Avg = mean
over the four ID datasets; a row without references counts as a wrong prediction. The lexical
baseline and published results are printed beside the verifier's row (published numbers are on
the full 1,610-row ID test, the id-sample split is the benchmark's official 500-row sample of it).
Data: --data-dir, else $CITELINE_ATTRIBUTIONBENCH, else ../shared/data/attributionbench, else the
hub (osunlp/AttributionBench, dev only).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = add_command(
        subparsers, "bench", help="score a verifier on a public benchmark",
        description="Score a verifier on a public attribution benchmark.",
        epilog="examples:\n  citeline bench attributionbench --split dev --verifier default\n"
               "  citeline bench attributionbench --help")
    benchmarks = bench.add_subparsers(dest="benchmark", metavar="<benchmark>", required=True)
    parser = add_command(
        benchmarks, "attributionbench", help="AttributionBench macro-F1 per dataset and ID-Avg",
        description="Score a verifier on AttributionBench (Li et al., 2024).",
        epilog=ATTRIBUTIONBENCH_EXAMPLES)
    parser.add_argument("--split", choices=["dev", "id-sample"], default="dev",
                        help="dev: 1,198 rows, for tuning and calibration (default); id-sample: the official "
                             "500-row in-distribution test sample, never tuned on")
    add_verifier(parser)
    parser.add_argument("--data-dir", type=Path, help="folder with the benchmark's JSONL files")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--limit", type=int, help="score only the first N rows (a quick look)")
    parser.set_defaults(func=_run_attributionbench)
    _register_contrast(benchmarks)


CONTRAST_EXAMPLES = """\
examples:
  citeline bench contrast --data examples/obvious_cases.jsonl --rows
  citeline bench contrast --data runs/verifier-data/contrast_dev.jsonl --slice report --verifier default
  citeline bench contrast --data my_contrast.jsonl --verifier lexical --out results.json

A contrast file is JSONL, one claim per row: pair_id (an original and its edits share it), recipe
("original" or the edit, e.g. negation / number / entity), evidence, claim, supported (1 or 0),
and optionally slice. Score per edit kind: macro-F1 of original vs edited claim over the pairs
that have that edit; and the share of originals accepted. The lexical baseline is printed too.
`citeline train-verifier` writes runs/verifier-data/contrast_dev.jsonl: its "calibration" slice
may tune, its "report" slice only reports.
"""


def _register_contrast(benchmarks: argparse._SubParsersAction) -> None:
    parser = add_command(
        benchmarks, "contrast", help="original vs minimally edited claims (negation, numbers, entities)",
        description="Score a verifier on a contrast set: supported claims beside minimally edited copies.",
        epilog=CONTRAST_EXAMPLES)
    parser.add_argument("--data", type=Path, required=True, help="the contrast set (JSONL)")
    parser.add_argument("--slice", help="score only rows whose slice is this (e.g. report)")
    add_verifier(parser)
    parser.add_argument("--rows", action="store_true", help="also print every claim with its verdict")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.set_defaults(func=_run_contrast)


def _run_contrast(args: argparse.Namespace) -> int:
    import json
    import os
    import sys
    from dataclasses import asdict

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from citeline.evals.contrast import evaluate, load_rows, render_markdown
    from citeline.verifiers.default import load_verifier

    try:
        rows = load_rows(args.data, args.slice)
        specs = [args.verifier] + ([] if args.verifier == "lexical" else ["lexical"])
        results = [evaluate(load_verifier(spec), rows) for spec in specs]
    except (FileNotFoundError, ValueError) as error:
        print(f"citeline bench contrast: {error}", file=sys.stderr)
        return 2
    print(render_markdown(results, show_rows=args.rows))
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.out}")
    return 0


def _run_attributionbench(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from citeline.evals.attributionbench import run_benchmark

    try:
        report = run_benchmark(args.split, args.verifier, args.data_dir, limit=args.limit)
    except (FileNotFoundError, ValueError) as error:
        print(f"citeline bench attributionbench: {error}", file=sys.stderr)
        return 2
    print(report.markdown)
    if args.out:
        args.out.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.out}")
    return 0
