"""Load on ``citeline serve`` over loopback: latency, throughput, errors and memory, with the
verifier's micro-batching on and off (two servers, one after the other, in the same run).

    .venv/bin/python benchmarks/serve.py [--requests 2000] [--clients 32] [--verifier default]

Requests are ``POST /v1/check`` bodies made from AttributionBench dev (as benchmarks/check.py makes
its records): a claim citing its references, of realistic size. Each server is warmed up first;
memory is the server's resident set (from its /metrics) after the warm-up and at the end.
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
    peak = [0.0]
    queue = iter(bodies)

    async def client(http: httpx.AsyncClient) -> None:
        for body in queue:
            started = time.perf_counter()
            response = await http.post(f"{base}/v1/check", json=body)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    async def watch(http: httpx.AsyncClient) -> None:
        while True:
            peak[0] = max(peak[0], await rss(http, base))
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
    latencies.sort()
    return {"seconds": seconds, "statuses": statuses, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "rss_before": before, "rss_after": after, "rss_peak": max(peak[0], after)}


async def rss(http, base: str) -> float:
    text = (await http.get(f"{base}/metrics")).text
    return float(RSS.search(text).group(1)) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--verifier", default="default")
    parser.add_argument("--splitter", default="spacy")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    records = make_records(args.data, args.requests + 16)
    bodies = [{k: r[k] for k in ("question", "answer", "sources")} for r in records]
    flags = ["--verifier", args.verifier, "--splitter", args.splitter, "--max-concurrency", "8",
             "--max-queue", str(args.clients)]
    rows = {}
    for name, extra in (("micro-batching on", []), ("micro-batching off", ["--no-batching"])):
        with running_server(*flags, *extra, ready_within=600) as base:
            asyncio.run(load(base, bodies[-16:], 8))  # warm-up: models, caches, allocator
            rows[name] = asyncio.run(load(base, bodies[:args.requests], args.clients))
            rows[name]["verifier"] = json.loads(__import__("httpx").get(f"{base}/readyz").text)["verifier"]
    off = rows["micro-batching off"]
    print(f"## citeline serve: {args.requests} POST /v1/check requests, {args.clients} concurrent clients, "
          f"loopback, verifier {rows['micro-batching on']['verifier']}, splitter {args.splitter}\n")
    print("| server | requests/s | p50 ms | p99 ms | non-200 | RSS after warm-up / peak / end (MB) | "
          "throughput vs off |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        rate = args.requests / r["seconds"]
        errors = ", ".join(f"{n}x {s}" for s, n in sorted(r["statuses"].items()) if s != 200) or "0"
        print(f"| {name} | {rate:.1f} | {r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {errors} | "
              f"{r['rss_before']:.0f} / {r['rss_peak']:.0f} / {r['rss_after']:.0f} | "
              f"{off['seconds'] / r['seconds']:.2f}x |")


if __name__ == "__main__":
    main()
