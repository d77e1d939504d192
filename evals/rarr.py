"""RARR on AttributionBench dev: does research-and-revise make unsupported answers attributable?

Texts: the ``claim`` of dev records labelled "not attributable" that have references (RARR
should fix them) and of records labelled "attributable" (RARR should leave them alone).
Corpus: every dev reference, pooled and deduplicated, indexed exactly as ``citeline revise``
indexes a corpus (BM25 over 5-sentence windows, ``pipeline/rarr/corpus.py``); RARR's own sentence
windows then cut the hits. Nothing is trained on this data.

    python -m citeline.evals.rarr --limit 8 --gate choice       # the local SmolLM2-135M
    python -m citeline.evals.rarr --limit 20 --backend openai --base-url http://127.0.0.1:8000/v1

Each split is a ``citeline revise`` batch run (the same engine): ``<out>/<label>/<split>/`` holds
the sampled texts (``input.jsonl``), ``results.jsonl`` written as they are made (rerun the same
command to resume; other settings are refused) and ``summary.json``; the table is printed and
saved as ``<out>/<label>/table.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any, Iterable

from citeline.core.paths import data_dir
from citeline.core.types import Document
from citeline.pipeline.cli.options import add_llm, add_splitter, add_verifier, llm_from_args

DEFAULT_DATA = data_dir("attributionbench", env="CITELINE_ATTRIBUTIONBENCH") / "dev_all_subset_balanced.jsonl"
SPLITS = {"not_attributable": "not attributable", "attributable": "attributable"}
COLUMNS = ("model", "texts", "n", "claims", "attr before", "attr after", "Pres_Lev", "F1_AP", "edit rate",
           "LLM calls/claim", "s/claim", "gate unparsed", "edit unparsed", "q fallbacks", "fallback edits")


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def has_references(row: dict[str, Any]) -> bool:
    return any(isinstance(r, str) and r.strip() for r in row.get("references") or [])


def sample(rows: list[dict[str, Any]], label: str, limit: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """Records with ``label`` and references, in a seeded shuffle (the file is sorted by source)."""
    chosen = [r for r in rows if r["attribution_label"] == label and has_references(r) and r["claim"].strip()]
    random.Random(seed).shuffle(chosen)
    return chosen[:limit] if limit else chosen


def reference_corpus(rows: Iterable[dict[str, Any]]) -> list[Document]:
    """Every reference of every row, deduplicated, one document each."""
    texts = dict.fromkeys(r.strip() for row in rows for r in row.get("references") or []
                          if isinstance(r, str) and r.strip())
    return [Document(f"ref-{i}", text) for i, text in enumerate(texts)]


def revise_split(reviser, records: list[dict[str, Any]], folder: Path, progress: bool = True) -> list[dict[str, Any]]:
    """Revise each record's claim as a ``citeline revise`` batch run in ``folder`` (resumed when
    results are there); the rows, in record order."""
    from citeline.pipeline.rarr.batch import ReviseRun
    from citeline.pipeline.runs import RESULTS, read_results

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "input.jsonl"
    source.write_text("".join(json.dumps({"id": r["id"], "text": r["claim"]}, ensure_ascii=False) + "\n"
                              for r in records), encoding="utf-8")
    ReviseRun(reviser).run(source, folder, resume=(folder / RESULTS).exists(), progress=progress)
    return read_results(folder)


def rescore(rows: list[dict[str, Any]], verifier) -> list[dict[str, Any]]:
    """The same revisions with attribution re-measured by ``verifier`` (no model calls)."""
    from citeline.pipeline.rarr.metrics import AttributionScorer, f1_ap

    scorer, rescored = AttributionScorer(verifier), []
    for row in rows:
        if row["status"] != "ok":
            rescored.append(row)
            continue
        result = row["result"]
        report = [snippet["passage"]["text"] for snippet in result["report"]]
        before, after = scorer.score(result["original"], report), scorer.score(result["revised"], report)
        metrics = dict(result["metrics"], attribution_before=before, attribution_after=after,
                       f1_ap=f1_ap(after, result["metrics"]["preservation"]))
        rescored.append(dict(row, result=dict(result, metrics=metrics)))
    return rescored


def table_row(model: str, split: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from citeline.pipeline.rarr.metrics import f1_ap

    results = [r["result"] for r in rows if r["status"] == "ok"]
    if not results:
        return {"model": model, "texts": split, "n": f"0 ({len(rows)} failed)"}
    mean = lambda key: sum(r["metrics"][key] for r in results) / len(results)  # noqa: E731
    total = lambda key: sum(r["counters"][key] for r in results)  # noqa: E731
    claims = sum(r["metrics"]["claims_before"] for r in results) or 1
    failed = len(rows) - len(results)
    after, preserved = mean("attribution_after"), mean("preservation")
    return {"model": model, "texts": split, "n": f"{len(results)}" + (f" (+{failed} failed)" if failed else ""),
            "claims": claims, "attr before": f"{mean('attribution_before'):.3f}", "attr after": f"{after:.3f}",
            "Pres_Lev": f"{preserved:.3f}", "F1_AP": f"{f1_ap(after, preserved):.3f}",
            "edit rate": f"{sum(r['revised'] != r['original'] for r in results) / len(results):.3f}",
            "LLM calls/claim": f"{total('llm_calls') / claims:.1f}",
            "s/claim": f"{sum(r['seconds'] for r in results) / claims:.1f}",
            "gate unparsed": total("gate_parse_failures"), "edit unparsed": total("edit_parse_failures"),
            "q fallbacks": total("question_fallbacks"), "fallback edits": total("fallback_edits")}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def build_reviser(args: argparse.Namespace, documents: list[Document]):
    from citeline.core.sentences import make_splitter
    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.pipeline.rarr.corpus import research_index
    from citeline.verifiers.default import load_verifier

    config = RarrConfig(question_samples=args.question_samples, max_questions=args.max_questions,
                        max_edit_ratio=args.max_edit_ratio, fallback_edit=args.fallback_edit,
                        gate_mode=args.gate, max_new_tokens=args.max_new_tokens)
    sentences = make_splitter(args.splitter)
    return Reviser(llm_from_args(args), research_index(documents, sentences), load_verifier(args.verifier), config,
                   sentences=sentences)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m citeline.evals.rarr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="AttributionBench dev JSONL")
    parser.add_argument("--limit", type=int, default=20, help="texts per split (20: minutes on a laptop CPU)")
    parser.add_argument("--splits", default="not_attributable,attributable",
                        help="comma-separated: " + ", ".join(SPLITS))
    add_llm(parser)
    add_splitter(parser)
    parser.add_argument("--label", default=None, help="the model's name in the table (default: backend and model)")
    add_verifier(parser, "ranks evidence and scores attribution: ")
    parser.add_argument("--question-samples", type=int, default=3)
    parser.add_argument("--max-questions", type=int, default=4)
    parser.add_argument("--max-edit-ratio", type=float, default=0.5)
    parser.add_argument("--fallback-edit", choices=["none", "evidence"], default="none")
    parser.add_argument("--gate", choices=["reasoning", "choice"], default="reasoning")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="for questions and the gate")
    parser.add_argument("--out", type=Path, default=Path("runs/rarr-eval"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--rescore", action="store_true",
                        help="no model calls: re-measure the saved revisions' attribution with --verifier")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = read_rows(args.data)
    label = args.label or (f"{args.backend} {args.model or 'SmolLM2-135M'}" if args.backend == "local"
                           else f"{args.backend} {args.model or ''}".strip())
    if args.gate != "reasoning":
        label += f", {args.gate} gate"
    if args.fallback_edit != "none":
        label += f", {args.fallback_edit} fallback"
    folder = args.out / label.replace("/", "_").replace(" ", "_")
    if args.rescore:
        return print_rescored(args, folder)
    unknown = [split for split in args.splits.split(",") if split not in SPLITS]
    if unknown:
        print(f"unknown split {unknown[0]!r}: use {', '.join(SPLITS)}", file=sys.stderr)
        return 2
    from citeline.pipeline.runs import RunFolderError, RunStopped

    try:
        reviser = build_reviser(args, reference_corpus(rows))
        table = [table_row(label, split.replace("_", " "), revise_split(
                     reviser, sample(rows, SPLITS[split], args.limit), folder / split, progress=not args.no_progress))
                 for split in args.splits.split(",")]
    except (ValueError, RunFolderError, RunStopped) as error:
        print(f"citeline.evals.rarr: error: {error}", file=sys.stderr)
        return 3 if isinstance(error, RunStopped) else 2  # 3: the environment failed (the README's exit codes)
    text = markdown(table)
    (folder / "table.md").write_text(text + "\n", encoding="utf-8")
    print(f"AttributionBench dev, {args.limit} texts per split (seeded sample), BM25 over 5-sentence windows "
          f"of all {len(reference_corpus(rows))} dev references, verifier {reviser.verifier.name}, "
          f"{args.question_samples} question sample(s), at most {args.max_questions} questions, "
          f"{args.gate} gate, max edit ratio {args.max_edit_ratio}")
    print(text)
    return 0


def print_rescored(args: argparse.Namespace, folder: Path) -> int:
    from citeline.pipeline.runs import RESULTS, read_results
    from citeline.verifiers.default import load_verifier

    verifier = load_verifier(args.verifier)
    table = []
    for split in args.splits.split(","):
        if not (folder / split / RESULTS).is_file():
            print(f"no saved results in {folder / split}: run without --rescore first", file=sys.stderr)
            return 2
        rows = read_results(folder / split)
        table.append(table_row(folder.name, split.replace("_", " "), rescore(rows, verifier)))
    print(f"saved revisions in {folder}, attribution re-measured with {verifier.name}")
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
