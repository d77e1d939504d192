"""``citeline index build|search|info``. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.pipeline.cli.options import add_command, add_splitter, fail, splitter_from_args

INDEX_EXAMPLES = """\
examples:
  citeline index build docs/ --out runs/idx                       # a folder of .txt/.md files, BM25 (bm25s)
  citeline index build corpus.jsonl --out runs/idx --backend hybrid  # BM25 + MiniLM embeddings, fused
  citeline index build corpus.jsonl --out runs/idx --backend dense --model path/to/sentence-model
  citeline index search runs/idx "When was the company founded?" -k 5
  citeline index search runs/idx "revenue in 2019" --json          # one JSON hit per line
  citeline index info runs/idx

corpus: a .jsonl file (one {"id"?, "title"?, "text"} per line), a folder of .txt/.md files, or a
folder saved with datasets' save_to_disk. Passages are windows of --window sentences every
--stride sentences; each keeps its document id and exact character span.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from citeline.retrievers.registry import DEFAULT_RETRIEVER, RETRIEVERS

    index = add_command(
        subparsers, "index", help="build and search a retrieval index over your own documents",
        description="Build a BM25, dense, ColBERT or hybrid index over a corpus, and search it.",
        epilog=INDEX_EXAMPLES)
    actions = index.add_subparsers(dest="index_command", metavar="<action>")

    build = add_command(actions, "build", help="chunk a corpus and build an index folder", epilog=INDEX_EXAMPLES)
    build.add_argument("corpus", type=Path, help=".jsonl file, folder of text files, or saved dataset folder")
    build.add_argument("--out", type=Path, required=True, help="folder to write the index to")
    build.add_argument("--backend", choices=RETRIEVERS.names(), default=DEFAULT_RETRIEVER,
                       help=f"retriever: {RETRIEVERS.help()}")
    build.add_argument("--model", help="the retriever's model, for a backend that takes one (see --backend)")
    build.add_argument("--window", type=int, default=3, help="sentences per passage (3)")
    build.add_argument("--stride", type=int, default=2, help="sentences between passage starts (2)")
    add_splitter(build)
    build.add_argument("--text-field", default="text", help="JSONL/dataset field holding the text (text)")
    build.add_argument("--id-field", default="id", help="JSONL/dataset field holding the document id (id)")
    build.add_argument("--title-field", default="title", help="JSONL/dataset field holding the title (title)")
    build.add_argument("--memory-budget-mb", type=int,
                       help="fail early if the passages would need more memory (default: half the RAM)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing index in --out")
    build.add_argument("--no-progress", action="store_true", help="hide progress bars")
    build.set_defaults(func=run_build)

    search = add_command(actions, "search", help="search an index folder", epilog=INDEX_EXAMPLES)
    search.add_argument("index", type=Path, help="an index folder made by `citeline index build`")
    search.add_argument("query", nargs="+", help="the query (one or more; '-' reads one query per line from stdin)")
    search.add_argument("-k", type=int, default=10, help="hits per query (10)")
    search.add_argument("--model", help="refuse to search unless the index was built with this model")
    search.add_argument("--rerank", metavar="VERIFIER", help="rerank the hits with a verifier (a --verifier spec)")
    search.add_argument("--json", action="store_true", help="print one JSON object per hit")
    search.set_defaults(func=run_search)

    info = add_command(actions, "info", help="print an index's manifest")
    info.add_argument("index", type=Path)
    info.set_defaults(func=run_info)
    index.set_defaults(func=lambda args: index.print_help() or 2)


def run_build(args: argparse.Namespace) -> int:
    from citeline.retrievers.corpus import CorpusError, SentenceWindowChunker
    from citeline.retrievers.index import build_index

    try:
        chunker = SentenceWindowChunker(size=args.window, stride=args.stride, splitter=splitter_from_args(args))
        budget = None if args.memory_budget_mb is None else args.memory_budget_mb * 2**20
        fields = {"text_field": args.text_field, "id_field": args.id_field, "title_field": args.title_field}
        retriever = build_index(args.corpus, args.out, backend=args.backend, model=args.model, chunker=chunker,
                                overwrite=args.overwrite, progress=not args.no_progress,
                                memory_budget=budget, fields=fields)
    except (CorpusError, FileExistsError, ValueError, RuntimeError, OSError) as error:
        return fail(str(error))
    count = len(_passages_of(retriever))
    print(f"indexed {count:,} passages with {retriever.name} -> {args.out}")
    return 0


def _passages_of(retriever):
    return getattr(retriever, "passages", None) or retriever.retrievers[0].passages


def run_search(args: argparse.Namespace) -> int:
    from citeline.retrievers.index import IndexLoadError, load_index

    queries = [line.strip() for line in sys.stdin if line.strip()] if args.query == ["-"] else [" ".join(args.query)]
    try:
        retriever = load_index(args.index, model=args.model)
        if args.rerank:
            from citeline.retrievers.fusion import RerankedRetriever
            from citeline.verifiers.default import load_verifier

            retriever = RerankedRetriever(retriever, load_verifier(args.rerank))
        results = retriever.search_batch(queries, args.k)
    except (IndexLoadError, ValueError, TypeError, OSError) as error:
        return fail(str(error))
    for query, hits in zip(queries, results):
        _print_hits(query, hits, args.json)
    return 0


def _print_hits(query: str, hits, as_json: bool) -> None:
    if as_json:
        for hit in hits:
            p = hit.passage
            print(json.dumps({"query": query, "rank": hit.rank + 1, "score": round(hit.score, 6),
                              "retriever": hit.retriever, "doc_id": p.doc_id, "start": p.start,
                              "end": p.end, "text": p.text}, ensure_ascii=False))
        return
    print(f"query: {query}")
    if not hits:
        print("  (no hits)")
    for hit in hits:
        p = hit.passage
        text = " ".join(p.text.split())
        text = text if len(text) <= 160 else text[:157] + "..."
        print(f"  {hit.rank + 1:>2}. {hit.score:8.4f}  {p.doc_id} [{p.start}:{p.end}]  {text}")


def run_info(args: argparse.Namespace) -> int:
    from citeline.retrievers.index import IndexLoadError, read_manifest

    try:
        print(json.dumps(read_manifest(args.index), indent=2, ensure_ascii=False))
    except IndexLoadError as error:
        return fail(str(error))
    return 0
