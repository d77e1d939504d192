"""The ``citeline`` command. Each package registers its own subcommands.

A command module has ``register(subparsers)`` and imports only the standard library at module
level, so ``citeline --help`` starts fast: heavy imports happen inside the command that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "citeline.pipeline.cli.check",  # check, eval
    "citeline.pipeline.cli.generate",  # generate
    "citeline.pipeline.cli.index",  # index
    "citeline.pipeline.cli.train_verifier",  # train-verifier
    "citeline.pipeline.cli.bench",  # bench
    "citeline.pipeline.cli.revise",  # revise (RARR)
)

DESCRIPTION = """\
citeline makes LLM answers verifiable: it checks, claim by claim, whether each citation in an
answer really supports it.

examples:
  citeline check --answer "Paris is the capital of France [1]." --source paris.txt
  citeline eval examples/answers.jsonl --out runs/example
  citeline <command> --help      (every command has its own examples)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citeline", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"citeline {_version()}")
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
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
