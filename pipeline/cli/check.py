"""``citeline check`` and ``citeline eval``. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from citeline.core.checks import MAX_ANSWER_CHARS
from citeline.pipeline.cli.options import (EXIT_FINDINGS, EXIT_OK, EXIT_STATUS_HELP, add_alce_compat, add_batch,
                                           add_command, add_sources, add_splitter, add_verifier, fail)

ENGINES = {"local": "this process (default)",
           "ray": "Ray Data actors, on a local or an existing cluster (pip install 'citeline[ray]')"}

SERVER_ENV = "CITELINE_SERVER"  # a running `citeline serve` that `check` asks instead of loading models

CHECK_EXAMPLES = """\
examples:
  # an answer and two source files ([1] is the first --source)
  citeline check --answer "Paris is the capital of France [1]." --source paris.txt --source berlin.txt

  # a JSON record {"question": ..., "answer": ..., "sources": [...]}, machine-readable output
  citeline check --record record.json --json > report.json

  # the answer from a file (or - for stdin), sources as a JSON list of strings or
  # {"id", "title", "text"} objects; cite them as [1] or by id, e.g. [paris]
  citeline check --answer-file answer.txt --sources sources.json

  # no start-up cost: ask a running `citeline serve` (models already loaded), once or for
  # every check of this shell (--no-server checks in this process again)
  citeline check --record record.json --server http://127.0.0.1:8080
  export CITELINE_SERVER=http://127.0.0.1:8080

citations: [n] is always the n-th source (1-based), whatever the sources' ids; any other text
in brackets, such as [doc7], cites the source with that id.
""" + EXIT_STATUS_HELP

EVAL_EXAMPLES = """\
examples:
  citeline eval examples/answers.jsonl --out runs/example
  citeline eval answers.jsonl --out runs/big --resume        # continue after a crash or Ctrl-C
  citeline eval answers.jsonl --out runs/big --verifier lexical --limit 100
  citeline eval answers.jsonl --out runs/alce --alce-compat  # ALCE eval.py's numbers, quirks included
  citeline eval answers.jsonl --out runs/big --html          # also write runs/big/report.html
  citeline eval answers.jsonl --out runs/big --engine ray    # on Ray (a local cluster; --address for yours)

input: one JSON object per line: {"id"?, "question"?, "answer", "sources"}, where sources is a list
of strings or {"id"?, "title"?, "text"} objects ([1] cites the first). ALCE's "output"/"docs" work too.
output: <out>/results.jsonl (one line per record, written as it goes), <out>/summary.json; the same
bytes with either engine, and --resume continues a run of either.
A record that cannot be checked is saved as an error line with its reason, and the run goes on.
""" + EXIT_STATUS_HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    check = add_command(
        subparsers, "check", help="check one answer's citations against its sources",
        description="Split an answer into claims and check whether each claim's citations support it.",
        epilog=CHECK_EXAMPLES)
    given = check.add_mutually_exclusive_group(required=True)
    given.add_argument("--answer", help="the answer text, with inline citations like [1]")
    given.add_argument("--answer-file", type=Path, help="a file holding the answer ('-' reads stdin)")
    given.add_argument("--record", type=Path, help="a JSON file {question, answer, sources}")
    add_sources(check)
    check.add_argument("--question", default="", help="the question the answer replies to")
    check.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    check.add_argument("--out", type=Path, help="also write the JSON report to this file")
    server = check.add_mutually_exclusive_group()
    server.add_argument("--server", metavar="URL", help="send the check to a running `citeline serve` at URL (its "
                        "verifier and splitter apply): no models to load, so it answers in well under a second "
                        f"(default: ${SERVER_ENV}, if set)")
    server.add_argument("--no-server", action="store_true", help=f"check in this process even if ${SERVER_ENV} is set")
    check.add_argument("--html", type=Path, metavar="FILE", help="also write the report as a self-contained HTML page")
    _common(check)
    check.set_defaults(func=run_check)

    evaluate = add_command(
        subparsers, "eval", help="batch-check a JSONL file of answers and print an aggregate report",
        description="Check every record of a JSONL file; results are saved as they go and can be resumed.",
        epilog=EVAL_EXAMPLES)
    evaluate.add_argument("input", type=Path, help="JSONL file, one record per line")
    add_batch(evaluate)
    evaluate.add_argument("--batch-size", type=int, default=16, help="records per verifier batch (16)")
    evaluate.add_argument("--details", action="store_true", help="also print each record's claim table")
    evaluate.add_argument("--html", action="store_true",
                          help="also write the run's HTML report, <out>/report.html (citeline report: elsewhere)")
    engines = evaluate.add_argument_group("engine")
    engines.add_argument("--engine", choices=ENGINES, default="local",
                         help="where records are checked: " + "; ".join(f"{k}: {v}" for k, v in ENGINES.items()))
    engines.add_argument("--address", help="--engine ray: an existing Ray cluster (e.g. auto, ray://head:10001); "
                                           "default: start a local one on this machine's cores")
    engines.add_argument("--workers", type=int, help="--engine ray: actors, each loading the models once "
                                                     "(default: one per CPU of the cluster)")
    _common(evaluate)
    evaluate.set_defaults(func=run_eval)


def _common(parser: argparse.ArgumentParser) -> None:
    add_verifier(parser)
    add_splitter(parser)
    add_alce_compat(parser)
    parser.add_argument("--no-source-check", action="store_true",
                        help="skip checking each claim against every source (faster; no support rate)")
    parser.add_argument("--max-answer-chars", type=int, default=MAX_ANSWER_CHARS,
                        help=f"refuse a longer answer, so work per record stays bounded ({MAX_ANSWER_CHARS:,})")


def _settings(args: argparse.Namespace):
    from citeline.pipeline.batch import EvalSettings

    return EvalSettings(verifier=args.verifier, splitter=args.splitter, check_every_source=not args.no_source_check,
                        batch_size=getattr(args, "batch_size", 16), max_answer_chars=args.max_answer_chars,
                        alce_compat=args.alce_compat)


def _checker(args: argparse.Namespace):
    return _settings(args).checker()


def run_check(args: argparse.Namespace) -> int:
    from citeline.pipeline.records import RecordError

    if args.max_answer_chars < 1:
        return fail("--max-answer-chars must be at least 1")
    args.server_from_env = not args.server and not args.no_server and bool(os.environ.get(SERVER_ENV))
    if args.server_from_env:
        args.server = os.environ[SERVER_ENV]
    elif args.no_server:
        args.server = None
    try:
        request = _read_check_request(args)
        if args.server:
            report = _check_on_server(args, request)
        else:
            checker = _checker(args)  # a bad --verifier spec fails here, before any model loads
    except (OSError, RecordError, ValueError) as error:
        return fail(str(error))
    from citeline.core.errors import EnvironmentFailure
    from citeline.pipeline.batch import NO_CLAIMS
    from citeline.pipeline.render import report_table

    try:
        if not args.server:
            checker.warm_up()  # the verifier first: a model that cannot be loaded is reported at once
            report = checker.check_many([request])[0]
    except OSError as error:  # a model's files that cannot be read: the machine, not the input
        raise EnvironmentFailure(str(error)) from error
    if args.out:
        args.out.write_text(report.to_json(indent=2) + "\n", encoding="utf-8")
    if args.html:
        from citeline.pipeline.cli.report import write_page
        from citeline.pipeline.html_report import check_page

        write_page(args.html, check_page(report.to_dict()))
    print(report.to_json(indent=2) if args.json else report_table(report))
    for warning in [*request.warnings, *([NO_CLAIMS] if not report.claims else [])]:
        print(f"citeline: warning: {warning}", file=sys.stderr)
    fine = report.claims and all(r.citations.recall == 1.0 for r in report.claims) \
        and not report.metrics["invalid_citations"]
    return EXIT_OK if fine else EXIT_FINDINGS


def _check_on_server(args: argparse.Namespace, request):
    """The report of ``POST {server}/v1/check``. A refused input is a ValueError (exit 2); a
    server that is down, overloaded or failing is an environment failure (exit 3)."""
    import urllib.error
    import urllib.request

    from citeline.core.errors import EnvironmentFailure
    from citeline.core.sentences import DEFAULT_SPLITTER
    from citeline.core.types import Report

    drop = f"unset {SERVER_ENV} or pass --no-server" if args.server_from_env else "drop --server"
    if getattr(args, "alce_compat", False):
        raise ValueError(f"--alce-compat runs in this process only: {drop}")
    if args.verifier != "default" or args.splitter != DEFAULT_SPLITTER:
        raise ValueError(f"--verifier and --splitter are the server's: start it with `citeline serve --verifier "
                         f"...`, or {drop}")
    body = {"id": request.id or None, "question": request.answer.question, "answer": request.answer.text,
            "sources": [{"id": d.id, "title": d.title, "text": d.text} for d in request.documents],
            "check_every_source": not args.no_source_check}
    url = args.server.rstrip("/") + "/v1/check"
    headers = {"Content-Type": "application/json"}
    if os.environ.get("CITELINE_API_KEY"):  # a server started with API keys
        headers["Authorization"] = f"Bearer {os.environ['CITELINE_API_KEY']}"
    post = urllib.request.Request(url, json.dumps(body, ensure_ascii=False).encode("utf-8"), headers)
    try:
        with urllib.request.urlopen(post, timeout=600) as response:
            return Report.from_json(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        if 400 <= error.code < 500 and error.code not in (401, 403, 408, 429):
            raise ValueError(f"the server refused the request ({error.code}): {detail}") from None
        hint = " (set CITELINE_API_KEY)" if error.code in (401, 403) else ""
        raise EnvironmentFailure(f"the citeline server at {args.server} answered {error.code}{hint}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise EnvironmentFailure(f"no citeline server answers at {args.server} ({reason}): start one with "
                                 f"`citeline serve`, or {drop} to check in this process") from None


def _read_check_request(args: argparse.Namespace):
    from citeline.pipeline.check import CheckRequest
    from citeline.pipeline.records import (RecordError, checked_answer, documents_from_files, parse_record_line,
                                           request_from_record)
    from citeline.pipeline.sources import empty_source_warnings

    if args.record:
        if args.source or args.sources:
            raise RecordError("--record already holds the sources: drop --source/--sources")
        return request_from_record(parse_record_line(args.record.read_bytes()), args.record.stem,
                                   args.max_answer_chars)
    if args.answer is not None:
        answer = args.answer
    elif str(args.answer_file) == "-":
        answer = sys.stdin.read()
    else:
        answer = args.answer_file.read_text(encoding="utf-8")
    warnings: list[str] = []
    checked = checked_answer(answer, args.question, args.max_answer_chars, warnings)
    documents = documents_from_files(args.source, args.sources)
    return CheckRequest(checked, documents, warnings=tuple(warnings + empty_source_warnings(documents)))


def run_eval(args: argparse.Namespace) -> int:
    from citeline.pipeline.batch import EvalRun, RunFolderError, RunStopped

    if not args.input.is_file():
        return fail(f"no such input file: {args.input}")
    if args.batch_size < 1 or (args.limit is not None and args.limit < 0):
        return fail("--batch-size must be at least 1 and --limit at least 0")
    from citeline.pipeline.render import summary_table

    if args.max_answer_chars < 1:
        return fail("--max-answer-chars must be at least 1")
    if args.workers is not None and args.workers < 1:
        return fail("--workers must be at least 1")
    if args.engine != "ray" and (args.address or args.workers):
        return fail("--address and --workers are for --engine ray")
    settings = _settings(args)
    try:
        runner = EvalRun(settings.checker(), batch_size=args.batch_size, max_answer_chars=args.max_answer_chars)
    except ValueError as error:  # a bad --verifier spec
        return fail(str(error))
    engine = None
    if args.engine == "ray":
        from citeline.pipeline.ray_engine import RayEngine

        engine = RayEngine(settings.job, address=args.address, workers=args.workers, verbose=args.verbose)
    try:
        summary = runner.run(args.input, args.out, resume=args.resume, overwrite=args.overwrite,
                             limit=args.limit, progress=not args.no_progress, engine=engine)
    except RunFolderError as error:
        return fail(str(error))
    except RunStopped as error:  # exit status 3, from main
        raise RunStopped(f"{error}\nthe run stopped: finished records are saved in {args.out}; "
                         f"fix the above and run the same command with --resume") from error
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished records are saved in {args.out}; "
              f"run the same command with --resume to continue", file=sys.stderr)
        return 130
    if args.details:
        _print_details(args.out)
    print(summary_table(summary))
    print(f"\nper-record reports: {args.out / 'results.jsonl'}")
    if args.html:
        from citeline.pipeline.cli.report import write_page
        from citeline.pipeline.html_report import run_page

        sys.stdout.flush()  # the report's line after the table
        write_page(args.out / "report.html", run_page(args.out))
    return summary.exit_code


def _print_details(out: Path) -> None:
    from citeline.core.types import Report
    from citeline.pipeline.batch import RESULTS
    from citeline.pipeline.render import report_table

    for line in (out / RESULTS).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "report" in row:
            report = Report.from_dict(row["report"])
            print(f"## line {row['line']}: {report.id}\n{report.answer.question}\n\n{report_table(report)}\n")
