"""``citeline revise``: RARR research-and-revise. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.pipeline.cli.options import (add_batch, add_command, add_llm, add_splitter, add_verifier, fail,
                                           llm_from_args)

EXAMPLES = """\
examples:
  # one answer, researched in your own documents (a folder of .txt/.md files or a JSONL file)
  citeline revise --text "The Eiffel Tower was finished in 1899." --corpus docs/

  # a JSONL batch, one {"id"?, "text"} per line ("answer" or "claim" work too); saved as it goes
  citeline revise --input answers.jsonl --corpus docs.jsonl --out runs/rarr --backend openai \\
      --base-url http://127.0.0.1:8000/v1
  citeline revise --input answers.jsonl --corpus docs.jsonl --out runs/rarr --resume

  # RARR as published: the model's reasoning decides the gate, and only the model edits
  citeline revise --input answers.jsonl --corpus docs.jsonl --out runs/rarr --gate reasoning --fallback-edit none

--backend/--model/--base-url work as in `citeline generate` (default: the local SmolLM2-135M).
output (batch): <out>/results.jsonl, one line per record: the original and revised text, the diff,
the attribution report, the metrics and counters of parse failures and fallbacks; <out>/summary.json.
exit status: 0 every record was revised; 1 some record failed (its line number and reason are
printed); 2 bad arguments or an unreadable corpus; 3 environment failure (a missing package or
model, a server that cannot be reached); 4 internal error (a bug; --debug shows the traceback).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers, "revise", help="RARR: research an answer's claims and minimally edit what evidence contradicts",
        description="Research-and-revise (RARR, Gao et al. 2023): generate verification questions, "
                    "retrieve evidence, edit only what the evidence contradicts, and report the "
                    "evidence that attributes the result.",
        epilog=EXAMPLES)
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="one answer to revise")
    given.add_argument("--input", type=Path, help="a JSONL file of records to revise")
    parser.add_argument("--corpus", type=Path, required=True,
                        help="documents to research in: a folder of text files or a JSONL file {id?, title?, text}")
    parser.add_argument("--out", type=Path, help="batch: folder for results.jsonl and summary.json; "
                                                 "single answer: also write the JSON result to this file")
    add_batch(parser, out_required=False)
    add_llm(parser)
    add_verifier(parser, "ranks evidence and scores attribution: ")
    parser.add_argument("--max-edit-ratio", type=float, default=0.5,
                        help="reject an edit changing more than this share of the text (Levenshtein; 0.5)")
    parser.add_argument("--fallback-edit", choices=["none", "evidence"], default="evidence",
                        help="when the model's edit is unusable: replace the contradicted number or "
                             "sentence, or drop it, using the evidence (evidence, the default; every such "
                             "edit is named and counted), or leave the text (none, as RARR does)")
    parser.add_argument("--gate", choices=["verifier", "reasoning", "choice"], default="verifier",
                        help="agreement gate: no model, the verifier finds the text contradicted by the "
                             "evidence (verifier, the default); RARR's published reasoning prompt "
                             "(reasoning); or the engine picks one of agrees/disagrees/irrelevant (choice)")
    parser.add_argument("--question-samples", type=int, default=3, help="question-generation samples (3)")
    parser.add_argument("--max-questions", type=int, default=6, help="questions kept per text (6)")
    parser.add_argument("--hits", type=int, default=3, help="retrieval hits per question (3)")
    parser.add_argument("--report-size", type=int, default=5, help="evidence snippets in the report (5)")
    add_splitter(parser)
    parser.add_argument("--json", action="store_true", help="single answer: print the JSON result")
    parser.set_defaults(func=run_revise)


def run_revise(args: argparse.Namespace) -> int:
    from citeline.core.errors import EnvironmentFailure

    if args.input and not args.out:
        return fail("--input needs --out, the folder the results are written to")
    if (args.resume or args.overwrite or args.limit) and not args.input:
        return fail("--resume, --overwrite and --limit apply to a batch (--input)")
    try:
        reviser = build_reviser(args)
    except ImportError as error:  # a missing package: exit status 3, from main
        raise EnvironmentFailure(str(error)) from error
    except (OSError, ValueError) as error:
        return fail(str(error))
    return _run_batch(args, reviser) if args.input else _run_one(args, reviser)


def build_reviser(args: argparse.Namespace):
    from citeline.core.sentences import make_splitter
    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.verifiers.default import load_verifier

    config = RarrConfig(question_samples=args.question_samples, max_questions=args.max_questions,
                        hits_per_question=args.hits, max_edit_ratio=args.max_edit_ratio,
                        report_size=args.report_size, fallback_edit=args.fallback_edit, gate_mode=args.gate)
    sentences = make_splitter(args.splitter)
    retriever = corpus_retriever(args.corpus, sentences)  # before the model: a bad path fails fast
    return Reviser(load_llm(args), retriever, load_verifier(args.verifier), config, sentences=sentences)


def load_llm(args: argparse.Namespace):
    """The generation backend the arguments name (loaded lazily by the backend itself)."""
    return llm_from_args(args)


def corpus_retriever(path: Path, sentences):
    """RARR's search index over the documents at ``path`` (see ``research_index``)."""
    if not path.exists():
        raise OSError(f"--corpus {path} does not exist: pass a folder of text files or a JSONL file")
    from citeline.pipeline.rarr.corpus import research_index
    from citeline.retrievers.corpus import read_documents

    return research_index(read_documents(path), sentences)


def _run_one(args: argparse.Namespace, reviser) -> int:
    try:
        result = reviser.revise(args.text)
    except ValueError as error:
        return fail(str(error))
    if args.out:
        args.out.write_text(result.to_json(indent=2) + "\n", encoding="utf-8")
    print(result.to_json(indent=2) if args.json else describe(result))
    return 0


def describe(result) -> str:
    """A short human-readable account of one revision."""
    m, c = result.metrics, result.counters
    lines = [f"original: {result.original}", f"revised:  {result.revised}",
             f"diff:     {result.diff}" if result.changed else "diff:     (unchanged)", "", "attribution report:"]
    lines += [f"  [{i}] {s.passage.doc_id} [{s.passage.start}:{s.passage.end}] {s.passage.text[:160]!r}"
              for i, s in enumerate(result.report, 1)] or ["  (no evidence found)"]
    lines += ["", f"attribution {m.attribution_before:.2f} -> {m.attribution_after:.2f}   "
                  f"preservation {m.preservation:.2f}   F1_AP {m.f1_ap:.2f}",
              f"questions {len(result.questions)} ({_question_source(result)})   "
              f"gates disagreeing {c.gates_disagree}   edits applied {c.edits_applied}   "
              f"fallback edits {c.fallback_edits}",
              f"parse failures: questions {c.question_parse_failures}, gate {c.gate_parse_failures}, "
              f"edit {c.edit_parse_failures}; edits rejected as too large {c.edits_rejected_too_large}; "
              f"LLM calls {c.llm_calls}; {result.seconds:.1f}s"]
    return "\n".join(lines)


def _question_source(result) -> str:
    return "from the claims: the model gave none" if any(q.source == "claim" for q in result.questions) \
        else "from the model"


def _run_batch(args: argparse.Namespace, reviser) -> int:
    from citeline.pipeline.rarr.batch import ReviseRun
    from citeline.pipeline.runs import RunFolderError, RunStopped

    if not args.input.is_file():
        return fail(f"--input {args.input} is not a file")
    try:
        summary = ReviseRun(reviser).run(args.input, args.out, resume=args.resume, overwrite=args.overwrite,
                                         limit=args.limit, progress=not args.no_progress)
    except RunFolderError as error:
        return fail(str(error))
    except RunStopped:  # exit status 3, from main
        raise
    print(json.dumps({k: v for k, v in vars(summary).items() if k != "problems"}, indent=2))
    print(f"edit rate {summary.edit_rate:.2f}")
    for problem in summary.problems:
        print(f"line {problem['line']}: {problem['reason']}", file=sys.stderr)
    return summary.exit_code
