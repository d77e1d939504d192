"""Load on ``citeline serve`` over loopback: latency, throughput, errors and memory, with the
verifier's micro-batching on and off (two servers, one after the other, in the same run).

    .venv/bin/python benchmarks/serve.py [--requests 2000] [--clients 32] [--verifier default]

Requests are ``POST /v1/check`` bodies made from AttributionBench dev (as benchmarks/check.py makes
its records): a claim citing its references, of realistic size. Each server is warmed up first;
memory is the server's resident set (from its /metrics) after the warm-up (twice as many requests
as clients), at each quarter of the run and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from check import DEFAULT_DATA, make_records  # noqa: E402 - benchmarks/check.py, beside this file

from tests.serve_helpers import running_server  # noqa: E402 - the tests' launcher: a free port, always stopped

RSS = re.compile(r"^process_resident_memory_bytes (\S+)$", re.M)


async def load(base: str, bodies: list[dict], clients: int) -> dict:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    samples: list[tuple[int, float]] = []  # (requests answered, resident MB), once a second
    queue = iter(bodies)

    async def client(http: httpx.AsyncClient) -> None:
        for body in queue:
            started = time.perf_counter()
            response = await http.post(f"{base}/v1/check", json=body)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    async def watch(http: httpx.AsyncClient) -> None:
        while True:
            samples.append((len(latencies), await rss(http, base)))
            await asyncio.sleep(1.0)

    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        before = await rss(http, base)
        watcher = asyncio.create_task(watch(http))
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        seconds = time.perf_counter() - started
        watcher.cancel()
        after = await rss(http, base)
    samples.append((len(latencies), after))
    quarters = [next(mb for done, mb in samples if done >= q * len(bodies) / 4) for q in (1, 2, 3)]
    latencies.sort()
    return {"seconds": seconds, "statuses": statuses, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "rss": [before, *quarters, after], "rss_peak": max(mb for _, mb in samples)}


async def rss(http, base: str) -> float:
    text = (await http.get(f"{base}/metrics")).text
    return float(RSS.search(text).group(1)) / 1e6


def verifier_ceiling(bodies: list[dict], verifier_name: str, splitter_name: str) -> dict:
    """What micro-batching can at best save here: the verifier alone, in this process, on the pairs
    the requests ask (recorded through a checker), once call by call as a server without batching
    asks them, once in calls of up to 256 pairs. Caches are cleared before each timing."""
    from citeline.core.claims import ClaimSplitter
    from citeline.core.protocols import clear_cache
    from citeline.core.sentences import make_splitter
    from citeline.pipeline.check import CitationChecker
    from citeline.pipeline.records import request_from_record
    from citeline.verifiers.default import load_verifier

    verifier = load_verifier(verifier_name)
    calls: list[list] = []
    verify = verifier.verify
    verifier.verify = lambda pairs: calls.append(list(pairs)) or verify(pairs)
    checker = CitationChecker(verifier, ClaimSplitter(make_splitter(splitter_name)))
    for body in bodies:
        checker.check_many([request_from_record(body, "", 1_000_000)])
    pairs = [pair for call in calls for pair in call]
    seconds = {}
    for name, groups in (("call by call", calls), ("256 at a time", [pairs[i:i + 256] for i in range(0, len(pairs), 256)])):
        clear_cache(verifier)
        started = time.perf_counter()
        for group in groups:
            verify(group)
        seconds[name] = time.perf_counter() - started
    return {"requests": len(bodies), "pairs": len(pairs), "calls": len(calls), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--verifier", default="default")
    parser.add_argument("--splitter", default="spacy")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--ceiling-requests", type=int, default=300,
                        help="requests whose pairs the verifier-alone table times (0: skip it)")
    args = parser.parse_args()
    warm_up = 2 * args.clients
    records = make_records(args.data, args.requests + warm_up)
    bodies = [{k: r[k] for k in ("question", "answer", "sources")} for r in records]
    flags = ["--verifier", args.verifier, "--splitter", args.splitter, "--max-concurrency", "8",
             "--max-queue", str(args.clients)]
    rows = {}
    for name, extra in (("micro-batching on", []), ("micro-batching off", ["--no-batching"])):
        with running_server(*flags, *extra, ready_within=600) as base:
            asyncio.run(load(base, bodies[-warm_up:], args.clients))  # models, allocator, full batches
            rows[name] = asyncio.run(load(base, bodies[:args.requests], args.clients))
            rows[name]["verifier"] = json.loads(__import__("httpx").get(f"{base}/readyz").text)["verifier"]
    off = rows["micro-batching off"]
    print(f"## citeline serve: {args.requests} POST /v1/check requests, {args.clients} concurrent clients, "
          f"loopback, verifier {rows['micro-batching on']['verifier']}, splitter {args.splitter}\n")
    print("| server | requests/s | p50 ms | p99 ms | non-200 | RSS MB: warmed up, at 25/50/75% of the requests, "
          "end (peak) | throughput vs off |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        rate = args.requests / r["seconds"]
        errors = ", ".join(f"{n}x {s}" for s, n in sorted(r["statuses"].items()) if s != 200) or "0"
        print(f"| {name} | {rate:.1f} | {r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {errors} | "
              f"{' / '.join(f'{mb:.0f}' for mb in r['rss'])} ({r['rss_peak']:.0f}) | "
              f"{off['seconds'] / r['seconds']:.2f}x |")
    if args.ceiling_requests:
        print_ceiling(verifier_ceiling(bodies[:args.ceiling_requests], args.verifier, args.splitter))


def print_ceiling(ceiling: dict) -> None:
    one, batched = ceiling["seconds"]["call by call"], ceiling["seconds"]["256 at a time"]
    print(f"\n## The verifier alone, in-process: the {ceiling['pairs']:,} (evidence, claim) pairs of "
          f"{ceiling['requests']} requests\n")
    print("| calls | pairs/s | vs call by call |")
    print("|---|---|---|")
    print(f"| call by call ({ceiling['calls']} calls, as without micro-batching) | {ceiling['pairs'] / one:.1f} | 1.00x |")
    print(f"| 256 pairs at a time (the best micro-batching can do) | {ceiling['pairs'] / batched:.1f} | "
          f"{one / batched:.2f}x |")


if __name__ == "__main__":
    main()
