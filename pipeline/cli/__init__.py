"""The ``citeline`` command. Each package registers its own subcommands.

A command module has ``register(subparsers)`` and imports only the standard library at module
level, so ``citeline --help`` starts fast: heavy imports happen inside the command that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from citeline.pipeline.cli.options import (EXIT_BROKEN_PIPE, EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_INTERRUPTED,
                                           EXIT_STATUS_HELP, EXIT_USAGE, add_output_flags, quiet_libraries,
                                           reproducible_numerics)

COMMAND_MODULES = (
    "citeline.pipeline.cli.check",  # check, eval
    "citeline.pipeline.cli.generate",  # generate
    "citeline.pipeline.cli.index",  # index
    "citeline.pipeline.cli.train_verifier",  # train-verifier
    "citeline.pipeline.cli.bench",  # bench
    "citeline.pipeline.cli.revise",  # revise (RARR)
    "citeline.pipeline.cli.serve",  # serve (HTTP API, OpenAI-compatible proxy)
    "citeline.pipeline.cli.report",  # report (HTML)
)

DESCRIPTION = """\
citeline makes LLM answers verifiable: it checks, claim by claim, whether each citation in an
answer really supports it.

examples:
  citeline check --answer "Paris is the capital of France [1]." --source paris.txt
  citeline eval examples/answers.jsonl --out runs/example
  citeline <command> --help      (every command has its own examples)

{exit_status}"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citeline", description=DESCRIPTION.format(exit_status=EXIT_STATUS_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"citeline {_version()}")
    add_output_flags(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeline")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    reproducible_numerics()
    if not args.verbose:
        quiet_libraries()
    if args.quiet and hasattr(args, "no_progress"):
        args.no_progress = True
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it cannot be handled
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `citeline ... | head`: the reader has what it wanted
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - one line and a meaningful status; the traceback on --debug
        return _report_error(error, args.debug)


def _report_error(error: Exception, debug: bool) -> int:
    from citeline.core.errors import EnvironmentFailure

    if debug:
        import traceback

        traceback.print_exc()
    environment = isinstance(error, (EnvironmentFailure, ImportError, MemoryError, OSError))
    what = "error" if environment else f"internal error ({type(error).__name__}, a bug: please report it)"
    hint = "" if debug else " (--debug shows the traceback)"
    print(f"citeline: {what}: {error}{hint}", file=sys.stderr)
    return EXIT_ENVIRONMENT if environment else EXIT_INTERNAL


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's captured output)
        pass
