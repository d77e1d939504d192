"""``citeline report``: the HTML report of a run folder or of a check's JSON report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.pipeline.cli.options import add_command, fail

REPORT_EXAMPLES = """\
examples:
  citeline eval examples/answers.jsonl --out runs/example
  citeline report runs/example                 # writes runs/example/report.html
  citeline check --record record.json --json > report.json
  citeline report report.json -o answer.html

The page is one self-contained file (no server, no network): open it in any browser. In a run's
page, the overview lists the records (sortable; most problems first) and links to each one; click
a claim to see its cited sources with the deciding span highlighted, its scores and its problems.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    report = add_command(
        subparsers, "report", help="write a self-contained HTML report of a run or of one check",
        description="Write one static HTML page to click through: claims coloured by verdict, the cited "
                    "sources with the supporting span highlighted, a run's metrics and records.",
        epilog=REPORT_EXAMPLES)
    report.add_argument("source", type=Path, help="a run folder (citeline eval or revise --out) or a check "
                                                  "report in JSON (citeline check --json or --out)")
    report.add_argument("-o", "--output", type=Path,
                        help="the HTML file (default: report.html in the run folder, or the JSON file's name with .html)")
    report.add_argument("--max-records", type=int, default=None,
                        help="records with a view of their own in a run's page, most problems first (1,000)")
    report.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from citeline.pipeline.html_report import MAX_RECORDS, check_page, run_page

    source: Path = args.source
    if args.max_records is not None and args.max_records < 1:
        return fail("--max-records must be at least 1")
    try:
        if source.is_dir():
            html = run_page(source, args.max_records or MAX_RECORDS)
            output = args.output or source / "report.html"
        elif source.is_file():
            html = check_page(_check_report(source))
            output = args.output or source.with_suffix(".html")
        else:
            return fail(f"no such run folder or report file: {source}")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return fail(f"cannot read {source}: {type(error).__name__}: {error}")
    write_page(output, html)
    return 0


def _check_report(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "claims" not in data or "answer" not in data:
        raise ValueError("not a citeline check report (want the JSON of citeline check --json or --out)")
    return data


def write_page(output: Path, html: str) -> None:
    """Write the page and say where it is (on stderr: stdout holds the command's results)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    print(f"HTML report: {output} ({len(html.encode('utf-8')) / 1024:.0f} KB)", file=sys.stderr)
