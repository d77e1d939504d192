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
    _register_finlfqa(benchmarks)


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


def _progress(args: argparse.Namespace) -> bool:
    return not (getattr(args, "no_progress", False) or getattr(args, "quiet", False))


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
        results = [evaluate(load_verifier(spec), rows, progress=_progress(args)) for spec in specs]
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
        report = run_benchmark(args.split, args.verifier, args.data_dir, limit=args.limit, progress=_progress(args))
    except (FileNotFoundError, ValueError) as error:
        print(f"citeline bench attributionbench: {error}", file=sys.stderr)
        return 2
    print(report.markdown)
    if args.out:
        args.out.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.out}")
    return 0


FINLFQA_EXAMPLES = """\
examples:
  citeline bench finlfqa --source tatqa --gold --out runs/finlfqa/gold
  citeline bench finlfqa --source tatqa --limit 30 --out runs/finlfqa/smollm2
  citeline bench finlfqa --source tatqa --limit 30 --out runs/finlfqa/server --backend openai --base-url http://127.0.0.1:8000/v1
  citeline bench finlfqa --data finlfqa_validation.jsonl --out runs/finlfqa/own --judge openai:my-model --judge-base-url http://127.0.0.1:8000/v1

Each question is answered as clauses (text, evidence paragraph ids per company, Python code, knowledge
ids) through the generation backend, parsed strictly and retried, then scored: numbers P/R/F1 (1%
relative error after unit normalisation), evidence P/R/F1, code execution success and value
correctness (in the sandbox), knowledge recall, and with --judge the 1-5 LLM judge. --gold scores the
gold clauses against themselves (a sanity check: 100 on numbers and evidence). The run is resumable
(--resume); <out>/input.jsonl holds the records in FinLFQA format.
Data: --source finlfqa reads --data (JSONL or a JSON list), else the hub (Dragongon/FinLFQA, --split);
tatqa and convfinqa-pot read --data, else ../shared/data/finance (TAT-QA: --split dev, the default, or
test; never tune on test). Questions are shuffled with --seed, so --limit N is a seeded sample.
"""


def _register_finlfqa(benchmarks: argparse._SubParsersAction) -> None:
    from citeline.pipeline.cli.options import add_batch, add_llm

    parser = add_command(
        benchmarks, "finlfqa", help="FinLFQA: clause-structured answers scored on numbers, evidence, code, knowledge",
        description="Answer FinLFQA-format questions as clauses and score them with FinLFQA's metrics "
                    "(Long et al., 2025).", epilog=FINLFQA_EXAMPLES)
    parser.add_argument("--source", choices=["finlfqa", "tatqa", "convfinqa-pot"], default="finlfqa",
                        help="the records' format: FinLFQA's own, or a stand-in mapped onto it")
    parser.add_argument("--data", type=Path, help="the data file (default: see below)")
    parser.add_argument("--split", help="finlfqa: validation (default) or test; tatqa: dev (default) or test")
    parser.add_argument("--seed", type=int, default=0, help="shuffle of the questions (0)")
    parser.add_argument("--gold", action="store_true", help="answer with the gold clauses (no model)")
    add_llm(parser)
    parser.add_argument("--structured", choices=["auto", "schema", "regex", "none"], default="auto",
                        help="constraint on the reply: auto is regex on the local backend, JSON schema elsewhere")
    parser.add_argument("--retries", type=int, default=2, help="re-asks of a reply that does not parse (2)")
    parser.add_argument("--max-tokens", type=int, default=400, help="per reply (400)")
    parser.add_argument("--judge", metavar="BACKEND[:MODEL]",
                        help="also rate each answer 1-5 with an LLM judge (off unless given)")
    parser.add_argument("--judge-base-url", help="the judge's server (default: --base-url, else $OPENAI_BASE_URL)")
    scoring = parser.add_argument_group("scoring choices FinLFQA leaves open (see README)")
    scoring.add_argument("--years", action="store_true", help="count years and dates as numbers")
    scoring.add_argument("--duplicates", action="store_true", help="count repeated values (default: distinct)")
    scoring.add_argument("--percent-as-ratio", action="store_true", help="let 12%% match 0.12")
    scoring.add_argument("--scope", choices=["answer", "clause"], default="answer",
                         help="numbers and evidence over the whole answer (default) or clause by clause")
    scoring.add_argument("--evidence", choices=["company", "index"], default="company",
                         help="match (company, id) pairs (default) or ids alone")
    scoring.add_argument("--execution", choices=["runs", "correct"], default="runs",
                         help="code succeeds when it runs (default) or only with a correct value")
    scoring.add_argument("--average", choices=["macro", "micro"], default="macro",
                         help="per record then mean (default), or pooled counts")
    parser.add_argument("--fields", help="FinLFQA field names to try first, e.g. knowledge=formulas,code=program")
    add_batch(parser)
    parser.set_defaults(func=_run_finlfqa)


def _run_finlfqa(args: argparse.Namespace) -> int:
    import sys

    from citeline.pipeline.cli.options import EXIT_ENVIRONMENT, fail, quiet_libraries

    quiet_libraries()
    from citeline.core.errors import EnvironmentFailure
    from citeline.pipeline.runs import RunFolderError, RunStopped

    try:
        summary, title = _finlfqa(args)
    except (RunStopped, EnvironmentFailure) as error:
        print(f"citeline: error: {error}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except (OSError, ValueError, RunFolderError) as error:
        return fail(str(error))
    from citeline.evals.finlfqa import markdown

    print(markdown(summary, title))
    print(f"\nresults in {args.out}/results.jsonl, summary in {args.out}/summary.json")
    return 1 if summary.failed else 0


def _finlfqa(args: argparse.Namespace):
    import os

    from citeline.evals.finance import FinLFQAFields
    from citeline.evals.finlfqa import FinLFQAJob, FinLFQAJudge, GoldAnswerer, ScoringOptions, load_records, run_benchmark
    from citeline.llm.backends import LLMS, load_llm, server_options
    from citeline.pipeline.cli.options import llm_from_args

    options = ScoringOptions(years=args.years, duplicates=args.duplicates, percent_as_ratio=args.percent_as_ratio,
                             scope=args.scope, evidence=args.evidence, execution=args.execution, average=args.average)
    records = load_records(args.source, args.data, args.split, FinLFQAFields.parse(args.fields), args.seed)
    if args.gold:
        answerer, label = GoldAnswerer(), "gold clauses"
    else:
        from citeline.pipeline.clauses import ClauseAnswerer

        llm = llm_from_args(args)
        if hasattr(llm, "structured_retries"):
            llm.structured_retries = 0  # the harness re-asks itself, and counts every try
        answerer = ClauseAnswerer(llm, structured=args.structured, retries=args.retries, max_tokens=args.max_tokens)
        label = f"{args.backend} {args.model or ('SmolLM2-135M-Instruct' if args.backend == 'local' else '')}".strip()
    judge = None
    if args.judge:
        backend, _, model = args.judge.partition(":")
        base_url = None
        if LLMS.get(backend).takes("base_url"):
            base_url = args.judge_base_url or args.base_url or os.environ.get("OPENAI_BASE_URL")
        judge = FinLFQAJudge(load_llm(backend, model or None, base_url,
                                      **server_options(backend, api_key=args.api_key, timeout=args.timeout)),
                             name=args.judge)
    job = FinLFQAJob(answerer, options, judge, label=label)
    summary = run_benchmark(records, job, args.out, resume=args.resume, overwrite=args.overwrite, limit=args.limit,
                            progress=_progress(args))
    title = (f"FinLFQA metrics, {args.source} ({args.split or 'default split'}), {summary.records} records, "
             f"answers: {label}" + (f", judge: {args.judge}" if args.judge else ""))
    return summary, title
