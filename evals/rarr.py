"""RARR on AttributionBench dev: does research-and-revise make unsupported answers attributable?

Texts: the ``claim`` of dev records labelled "not attributable" that have references (RARR
should fix them) and of records labelled "attributable" (RARR should leave them alone).
Corpus: every dev reference, pooled and deduplicated, searched with BM25; RARR's own sentence
windows cut the hits. Nothing is trained on this data.

    python -m citeline.evals.rarr --limit 8 --gate choice       # the local SmolLM2-135M
    python -m citeline.evals.rarr --limit 20 --backend openai --base-url http://127.0.0.1:8000/v1

Per record results go to ``<out>/<label>/<split>.jsonl`` as they are made (rerun to resume);
the table is printed and saved as ``<out>/<label>/table.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any, Iterable

from citeline.core.types import Document

DEFAULT_DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "attributionbench"
                / "dev_all_subset_balanced.jsonl")
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


def bm25_retriever(documents: list[Document]):
    """BM25 over whole references: like RARR's web pages, RARR itself cuts hits into windows."""
    from citeline.retrievers.bm25 import BM25sRetriever

    return BM25sRetriever().index([d.passage() for d in documents])


def revise_split(reviser, records: list[dict[str, Any]], path: Path, progress: bool = True) -> list[dict[str, Any]]:
    """Revise each record's claim, appending results to ``path``; records already there are kept."""
    from tqdm import tqdm

    done = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["id"]] = row
    with path.open("a", encoding="utf-8") as sink:
        for record in tqdm(records, desc=path.stem, unit="text", disable=not progress):
            if record["id"] in done:
                continue
            try:
                row = {"id": record["id"], "status": "ok",
                       "result": reviser.revise(record["claim"], id=record["id"]).to_dict()}
            except Exception as error:  # noqa: BLE001 - counted in the table, the run goes on
                row = {"id": record["id"], "status": "error", "error": f"{type(error).__name__}: {error}"}
            line = json.dumps(row, ensure_ascii=False)
            done[record["id"]] = json.loads(line)  # the same plain data a resumed run reads
            sink.write(line + "\n")
            sink.flush()
    return [done[r["id"]] for r in records]


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


def load_generation(args: argparse.Namespace):
    from citeline.llm.backends import load_llm

    if args.backend == "openai":
        return load_llm("openai", args.model, args.base_url, api_key=os.environ.get("OPENAI_API_KEY"))
    return load_llm(args.backend, args.model)


def build_reviser(args: argparse.Namespace, documents: list[Document]):
    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.verifiers.default import load_verifier

    config = RarrConfig(question_samples=args.question_samples, max_questions=args.max_questions,
                        max_edit_ratio=args.max_edit_ratio, fallback_edit=args.fallback_edit,
                        gate_mode=args.gate, max_new_tokens=args.max_new_tokens)
    return Reviser(load_generation(args), bm25_retriever(documents), load_verifier(args.verifier), config)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m citeline.evals.rarr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="AttributionBench dev JSONL")
    parser.add_argument("--limit", type=int, default=20, help="texts per split (20: minutes on a laptop CPU)")
    parser.add_argument("--splits", default="not_attributable,attributable",
                        help="comma-separated: " + ", ".join(SPLITS))
    parser.add_argument("--backend", choices=["local", "vllm", "openai"], default="local")
    parser.add_argument("--model", help="model folder or name (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--base-url", help="OpenAI-compatible server (--backend openai)")
    parser.add_argument("--label", default=None, help="the model's name in the table (default: backend and model)")
    parser.add_argument("--verifier", default="default", help="verifier for ranking and attribution")
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
    return parser.parse_args(argv)


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
    reviser = build_reviser(args, reference_corpus(rows))
    folder.mkdir(parents=True, exist_ok=True)
    table = []
    for split in args.splits.split(","):
        if split not in SPLITS:
            print(f"unknown split {split!r}: use {', '.join(SPLITS)}", file=sys.stderr)
            return 2
        records = sample(rows, SPLITS[split], args.limit)
        results = revise_split(reviser, records, folder / f"{split}.jsonl", progress=not args.no_progress)
        table.append(table_row(label, split.replace("_", " "), results))
    text = markdown(table)
    (folder / "table.md").write_text(text + "\n", encoding="utf-8")
    print(f"AttributionBench dev, {args.limit} texts per split (seeded sample), BM25 over all "
          f"{len(reference_corpus(rows))} dev references, verifier {reviser.verifier.name}, "
          f"{args.question_samples} question sample(s), at most {args.max_questions} questions, "
          f"{args.gate} gate, max edit ratio {args.max_edit_ratio}")
    print(text)
    return 0


def print_rescored(args: argparse.Namespace, folder: Path) -> int:
    from citeline.verifiers.default import load_verifier

    verifier = load_verifier(args.verifier)
    table = []
    for split in args.splits.split(","):
        path = folder / f"{split}.jsonl"
        if not path.is_file():
            print(f"no saved results at {path}: run without --rescore first", file=sys.stderr)
            return 2
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        table.append(table_row(folder.name, split.replace("_", " "), rescore(rows, verifier)))
    print(f"saved revisions in {folder}, attribution re-measured with {verifier.name}")
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
