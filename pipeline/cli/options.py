"""Flags that several commands share, defined once so they mean the same everywhere.

Choices and help come from the registries (``citeline.*.registry``, ``VERIFIERS``, ``SPLITTERS``),
which import nothing heavy, so ``citeline --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

HTTP_TIMEOUT = 120.0  # seconds per call to a generation server, for every command

# Exit status: one meaning each, for every command (README, "Exit codes").
EXIT_OK = 0  # every claim is supported by what it cites (or the command simply succeeded)
EXIT_FINDINGS = 1  # findings: an unsupported claim, a missing source, a record that could not be checked
EXIT_USAGE = 2  # bad arguments or unreadable input
EXIT_ENVIRONMENT = 3  # this machine cannot run it: a missing package or model, a server that cannot be reached
EXIT_INTERNAL = 4  # a bug in citeline (--debug shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader of the output went away (`citeline ... | head`), as for SIGPIPE
EXIT_STATUS_HELP = """\
exit status: 0 all claims supported; 1 findings (an unsupported claim, a missing source, a bad
record); 2 usage or input error; 3 environment failure (a missing package or model, a server that
cannot be reached); 4 internal error (a bug). Errors are one line; --debug adds the traceback.
"""


def fail(message: str) -> int:
    """Print a command-line error (exit status 2: the arguments or the input are wrong)."""
    print(f"citeline: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def add_command(subparsers: argparse._SubParsersAction, name: str, **settings: Any) -> argparse.ArgumentParser:
    """A subcommand whose --help keeps its examples' layout (``epilog``); ``--debug`` works after it too."""
    parser = subparsers.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **settings)
    add_output_flags(parser, default=argparse.SUPPRESS)
    return parser


def add_output_flags(parser: argparse.ArgumentParser, default: Any = False) -> None:
    """--debug, --quiet, --verbose: accepted before the command and after it."""
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", action="store_true", default=default,
                       help="no progress bars, citeline's own included: results, warnings and errors only")
    noise.add_argument("--verbose", action="store_true", default=default,
                       help="also show the progress bars and load reports of the libraries citeline uses "
                            "(transformers, huggingface_hub), hidden by default")


def quiet_libraries() -> None:
    """Keep third-party progress bars and load reports ("Loading weights", "LOAD REPORT") out of
    the output, where they would land among or after the results. Set before those libraries are
    imported; a variable the user set wins."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def reproducible_numerics() -> None:
    """Scores that do not depend on the number of threads: MKL's strict reproducible mode (as fast
    as its default here) makes a matrix product give the same bits with 1 thread or 16, so a run
    split across Ray actors of one thread each writes what one process with every core writes. Set
    before torch loads MKL; a value the user set wins."""
    import os

    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")


def add_sources(parser: argparse.ArgumentParser) -> None:
    """--source (repeatable, in citation order) and --sources (one JSON list)."""
    parser.add_argument("--source", type=Path, action="append", default=[],
                        help="a source text file; repeat in citation order ([1] is the first)")
    parser.add_argument("--sources", type=Path, help="a JSON file: a list of source strings or objects")


def add_verifier(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    from citeline.verifiers.default import verifier_help

    parser.add_argument("--verifier", default="default", help=f"{purpose}{verifier_help()} (default: default)")


def add_splitter(parser: argparse.ArgumentParser) -> None:
    from citeline.core.sentences import DEFAULT_SPLITTER, SPLITTERS

    parser.add_argument("--splitter", choices=SPLITTERS.names(), default=DEFAULT_SPLITTER,
                        help=f"sentence splitter: {SPLITTERS.help()}")


def add_alce_compat(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alce-compat", action="store_true",
                        help="citation recall and precision exactly as ALCE's eval.py computes them, quirks "
                             "included, to compare with published numbers: its first line only, NLTK sentences "
                             "(--splitter does not apply), '[' and digits as the only citation, no check "
                             "against every source (README: Differences from ALCE's eval.py)")


def splitter_from_args(args: argparse.Namespace) -> Any:
    from citeline.core.sentences import make_splitter

    return make_splitter(args.splitter)


def add_llm(parser: argparse.ArgumentParser) -> None:
    """--backend, --model, --base-url, --api-key, --timeout: the generation backend."""
    from citeline.llm.backends import LLMS

    parser.add_argument("--backend", choices=LLMS.names(), default="local", help=f"generation backend: {LLMS.help()}")
    parser.add_argument("--model", help="model folder or name (default: SmolLM2-135M-Instruct; "
                                        "for a server: its first model)")
    parser.add_argument("--base-url", help="a server backend's address, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"),
                        help="bearer token for a server backend (default: $OPENAI_API_KEY)")
    parser.add_argument("--timeout", type=float, default=HTTP_TIMEOUT,
                        help=f"seconds per call to a server backend ({HTTP_TIMEOUT:g})")


def llm_from_args(args: argparse.Namespace) -> Any:
    """The backend the flags name; a --base-url given to an in-process backend is refused."""
    from citeline.llm.backends import load_llm, server_options

    return load_llm(args.backend, args.model, args.base_url,
                    **server_options(args.backend, api_key=args.api_key, timeout=args.timeout))


def add_batch(parser: argparse.ArgumentParser, out_required: bool = True) -> None:
    """--out, --resume | --overwrite, --limit, --no-progress: a resumable JSONL batch run."""
    if out_required:
        parser.add_argument("--out", type=Path, required=True, help="folder for results.jsonl and summary.json")
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--resume", action="store_true",
                      help="skip records already saved in --out (the configuration must be the same)")
    runs.add_argument("--overwrite", action="store_true", help="discard the results already in --out")
    parser.add_argument("--limit", type=int, help="process at most this many (new) records")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
