"""Verifier throughput on AttributionBench dev pairs: citeline's verifier against the same model
run one pair at a time through a plain transformers text-classification pipeline.

    python benchmarks/verifier.py                  # the shipped model, 300 dev pairs
    python benchmarks/verifier.py --pairs 1198 --model path/to/model --threads 2

Both run in this process on the same pairs, cold (citeline's cache starts empty). The plain
pipeline truncates each pair at 512 tokens; citeline reads all of the evidence in windows, so it
does at least as much model work. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _time(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def run(model_dir: Path, pairs: list[tuple[str, str]], threads: int | None) -> list[tuple[str, float]]:
    import torch
    from transformers import pipeline

    from citeline.verifiers.calibrated import CalibratedVerifier
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    if threads:
        torch.set_num_threads(threads)
    ours = CrossEncoderVerifier(model_dir, max_length=_max_length(model_dir))
    ours.score(pairs[:2])  # load outside the timing, as the pipeline is
    ours.clear_cache()
    full = CalibratedVerifier(model_dir)
    full.verify(pairs[:2])
    full._cross_encoder.clear_cache()
    plain = pipeline("text-classification", model=str(model_dir), device="cpu", function_to_apply="sigmoid")

    def one_at_a_time():
        with torch.inference_mode():
            return [plain({"text": e, "text_pair": c}, truncation=True) for e, c in pairs]

    return [("transformers pipeline, one pair at a time", _time(one_at_a_time)[0]),
            ("citeline CrossEncoderVerifier (sorted batches, windows)", _time(lambda: ours.score(pairs))[0]),
            ("citeline default (cross-encoder + calibrator)", _time(lambda: full.verify(pairs))[0]),
            ("citeline default, same pairs again (cache)", _time(lambda: full.verify(pairs))[0])]


def _max_length(model_dir: Path) -> int:
    import json

    settings = model_dir / "citeline.json"
    return json.loads(settings.read_text())["max_length"] if settings.is_file() else 256


def main() -> None:
    from citeline.evals.attributionbench import load_examples
    from citeline.verifiers.default import default_model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--pairs", type=int, default=300, help="dev pairs to score (default 300)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--data-dir", help="AttributionBench folder (default ../shared/data/attributionbench)")
    args = parser.parse_args()

    pairs = [e.pair for e in load_examples("dev", args.data_dir) if e.evidence][: args.pairs]
    rows = run(args.model, pairs, args.threads)
    baseline = rows[0][1]
    print(f"{len(pairs)} AttributionBench dev pairs, model {args.model.name}, "
          f"{args.threads or 'default'} torch threads\n")
    print("| runner | seconds | pairs/s | speed-up |\n|---|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {len(pairs) / seconds:.1f} | {baseline / seconds:.1f}x |")


if __name__ == "__main__":
    main()
