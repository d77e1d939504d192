"""Retrieval quality and speed on real data; prints markdown tables.

    python benchmarks/retrieval.py                       # BM25 (both engines), dense, hybrid
    python benchmarks/retrieval.py --backends colbert    # ColBERT (needs the colbert extra)
    CITELINE_DATA=/path/to/data python benchmarks/retrieval.py --limit 200

Quality is scored per document: a query's hits (passages) are mapped to their documents in rank
order, and recall@k is the share of the query's gold documents among the first k documents.
- TAT-QA dev: every report paragraph is a document; a question's gold documents are its
  ``rel_paragraphs`` (questions answered from the table alone are skipped).
- AttributionBench dev: every distinct reference passage, pooled across all records, is a
  document; a claim's gold documents are the references of its record(s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from citeline.core.paths import data_dir
from citeline.core.sentences import DEFAULT_SPLITTER, SPLITTERS, make_splitter
from citeline.core.types import Document
from citeline.retrievers import HybridRetriever, SentenceWindowChunker, collect_passages
from citeline.retrievers.registry import RETRIEVERS, make_retriever

DEPTH = 50  # passages retrieved per query before mapping them to documents
KS = (1, 5, 10)


@dataclass
class Task:
    name: str
    documents: list[Document]
    queries: list[str]
    gold: list[set[str]]  # gold document ids per query


def tatqa(data: Path, limit: int | None) -> Task:
    documents, queries, gold = [], [], []
    with (data / "finance" / "tatqa" / "tatqa_dataset_dev.jsonl").open() as lines:
        for line in lines:
            record = json.loads(line)
            uid = record["table"]["uid"]
            documents += [Document(f"{uid}/p{p['order']}", p["text"]) for p in record["paragraphs"]]
            for question in record["questions"]:
                if question["rel_paragraphs"]:
                    queries.append(question["question"])
                    gold.append({f"{uid}/p{order}" for order in question["rel_paragraphs"]})
    return Task("TAT-QA dev", documents, queries[:limit], gold[:limit])


def attributionbench(data: Path, limit: int | None) -> Task:
    references: dict[str, str] = {}
    claims: dict[str, set[str]] = {}
    with (data / "attributionbench" / "dev_all_subset_balanced.jsonl").open() as lines:
        for line in lines:
            record = json.loads(line)
            ids = {references.setdefault(text, f"ref{len(references)}") for text in record["references"]}
            claims.setdefault(record["claim"], set()).update(ids)
    documents = [Document(doc_id, text) for text, doc_id in references.items()]
    queries = list(claims)[:limit]
    return Task("AttributionBench dev", documents, queries, [claims[q] for q in queries])


def document_ranking(hits) -> list[str]:
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.passage.doc_id)
    return list(seen)


def quality(results, gold) -> dict[str, float]:
    scores = {f"R@{k}": 0.0 for k in KS} | {"MRR@10": 0.0}
    for hits, relevant in zip(results, gold):
        ranking = document_ranking(hits)
        for k in KS:
            scores[f"R@{k}"] += len(relevant & set(ranking[:k])) / len(relevant)
        first = next((r for r, doc in enumerate(ranking[:10], 1) if doc in relevant), None)
        scores["MRR@10"] += 1 / first if first else 0.0
    return {name: value / len(gold) for name, value in scores.items()}


def timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started


def make_retrievers(backends: list[str], model: str | None):
    """Each backend but hybrid, which run_task fuses from the bm25s and dense it built (--model is dense's)."""
    unknown = [b for b in backends if b not in RETRIEVERS]
    if unknown:
        raise SystemExit(f"unknown backend {unknown[0]!r}: choose from {', '.join(RETRIEVERS.names())}")
    return {b: make_retriever(b, model if b == "dense" else None) for b in backends if b != "hybrid"}


def run_task(task: Task, backends: list[str], chunker, model: str | None, rows: dict, repeats: int) -> None:
    passages, chunk_seconds = timed(collect_passages, task.documents, chunker)
    print(f"{task.name}: {len(task.documents):,} documents -> {len(passages):,} passages "
          f"in {chunk_seconds:.1f}s; {len(task.queries):,} queries", file=sys.stderr)
    built, build_seconds = {}, {}
    for name, retriever in make_retrievers(backends, model).items():
        built[name], build_seconds[name] = timed(retriever.index, passages, True)
    if "hybrid" in backends:
        parts = [built[p] for p in ("bm25s", "dense") if p in built]
        if len(parts) < 2:
            raise SystemExit("--backends hybrid needs bm25s and dense in the same run")
        built["hybrid"] = HybridRetriever(parts, depth=DEPTH)
        build_seconds["hybrid"] = build_seconds["bm25s"] + build_seconds["dense"]
    for name in backends:
        results = built[name].search_batch(task.queries, DEPTH)
        # Best of `repeats` runs: the machine is shared, and the best run is the least disturbed.
        timings = [timed(built[name].search_batch, task.queries, 10) for _ in range(repeats)]
        top10, seconds = timings[0][0], min(t for _, t in timings)
        rows[task.name, name] = {"passages": len(passages), "queries": len(task.queries),
                                 "top10": [[(h.passage.doc_id, h.passage.start) for h in hits] for hits in top10],
                                 "build_s": build_seconds[name], "query_s": seconds,
                                 **quality(results, task.gold)}
        print(f"  {name}: built in {build_seconds[name]:.1f}s, {len(task.queries) / seconds:.1f} queries/s",
              file=sys.stderr)


def print_tables(rows: dict) -> None:
    print("### Retrieval quality (document level, recall@k and MRR@10)\n")
    print("| dataset | retriever | queries | passages | R@1 | R@5 | R@10 | MRR@10 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (task, name), r in rows.items():
        print(f"| {task} | {name} | {r['queries']:,} | {r['passages']:,} | {r['R@1']:.3f} | {r['R@5']:.3f} "
              f"| {r['R@10']:.3f} | {r['MRR@10']:.3f} |")
    for task in dict.fromkeys(t for t, _ in rows):
        if (task, "hybrid") in rows:
            singles = {n: r for (t, n), r in rows.items() if t == task and n != "hybrid"}
            best = max(singles, key=lambda n: singles[n]["R@10"])
            hybrid = rows[task, "hybrid"]
            verdict = "beats" if hybrid["R@10"] > singles[best]["R@10"] else "does NOT beat"
            print(f"\n{task}: hybrid {verdict} the best single retriever ({best}) on R@10 "
                  f"({hybrid['R@10']:.3f} vs {singles[best]['R@10']:.3f}).")
    print("\n### Speed (this machine, end to end through citeline's API)\n")
    print("| dataset | retriever | index build (s) | passages/s indexed | queries/s (k=10, one batch, best of N) |")
    print("|---|---|---:|---:|---:|")
    for (task, name), r in rows.items():
        print(f"| {task} | {name} | {r['build_s']:.2f} | {r['passages'] / r['build_s']:,.0f} "
              f"| {r['queries'] / r['query_s']:,.1f} |")
    pairs = [(t, rows[t, "bm25"], rows[t, "bm25s"]) for t in dict.fromkeys(t for t, _ in rows)
             if (t, "bm25") in rows and (t, "bm25s") in rows]
    if pairs:
        print("\n### bm25s vs rank-bm25 (same corpus, same queries, same ranking)\n")
        print("| dataset | passages | queries | identical top-10 | rank-bm25 queries/s | bm25s queries/s | speed-up |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for task, slow, fast in pairs:
            slow_qps, fast_qps = slow["queries"] / slow["query_s"], fast["queries"] / fast["query_s"]
            same = sum(a == b for a, b in zip(slow["top10"], fast["top10"])) / slow["queries"]
            print(f"| {task} | {slow['passages']:,} | {slow['queries']:,} | {same:.1%} | {slow_qps:,.1f} "
                  f"| {fast_qps:,.0f} | {fast_qps / slow_qps:,.0f}x |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=data_dir(),
                        help="the shared data folder (env CITELINE_DATA; default ../shared/data)")
    parser.add_argument("--backends", default="bm25,bm25s,dense,hybrid",
                        help=f"comma-separated, of: {', '.join(RETRIEVERS.names())} (default: all but colbert)")
    parser.add_argument("--datasets", default="tatqa,attributionbench")
    parser.add_argument("--model", help="dense model name or path (default all-MiniLM-L6-v2)")
    parser.add_argument("--splitter", choices=SPLITTERS.names(), default=DEFAULT_SPLITTER)
    parser.add_argument("--limit", type=int, help="at most this many queries per dataset")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3, help="time each query batch this many times, keep the best (3)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.data.is_dir():
        raise SystemExit(f"no data at {args.data}: pass --data or set CITELINE_DATA")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    chunker = SentenceWindowChunker(size=3, stride=2, splitter=make_splitter(args.splitter))
    loaders = {"tatqa": tatqa, "attributionbench": attributionbench}
    rows: dict = {}
    for name in args.datasets.split(","):
        run_task(loaders[name](args.data, args.limit), args.backends.split(","), chunker, args.model, rows,
                 args.repeats)
    print_tables(rows)
    print(f"\n(CPU: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end of the run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
