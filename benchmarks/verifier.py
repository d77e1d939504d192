"""Verifier throughput on AttributionBench dev pairs: citeline's verifier against the same model
run one pair at a time through a plain transformers text-classification pipeline.

    python benchmarks/verifier.py                      # 150 dev pairs
    python benchmarks/verifier.py --pairs 1198 --cross-encoder path/to/model --threads 2

Two comparisons, each in this process on the same pairs, cold (citeline's caches start empty):
a cross-encoder through citeline's CrossEncoderVerifier against a text-classification pipeline,
and the shipped default verifier against its embedding model in a feature-extraction pipeline.
The plain pipelines truncate at 512 tokens; citeline reads all of the evidence in windows, so it
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


def cross_encoder_rows(model_dir: Path, pairs: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """A fine-tuned cross-encoder: citeline's backend against a text-classification pipeline."""
    import torch
    from transformers import pipeline

    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    ours = CrossEncoderVerifier(model_dir, max_length=_max_length(model_dir))
    ours.score(pairs[:2])  # load outside the timing, as the pipeline is
    ours.clear_cache()
    plain = pipeline("text-classification", model=str(model_dir), device="cpu", function_to_apply="sigmoid")

    def one_at_a_time():
        with torch.inference_mode():
            return [plain({"text": e, "text_pair": c}, truncation=True) for e, c in pairs]

    return [(f"cross-encoder {model_dir.name}: transformers pipeline, one pair at a time", _time(one_at_a_time)[0]),
            (f"cross-encoder {model_dir.name}: citeline CrossEncoderVerifier", _time(lambda: ours.score(pairs))[0])]


def default_rows(pairs: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """The shipped default (embedding similarity + calibrator) against the same embedding model
    run through a feature-extraction pipeline, one pair (claim, whole evidence) at a time."""
    import torch
    from transformers import pipeline

    from citeline.verifiers.calibrated import statement
    from citeline.verifiers.default import load_default_verifier
    from citeline.verifiers.similarity import EMBEDDING_MODEL
    from citeline.verifiers.train import resolve_base_model

    ours = load_default_verifier()
    ours.verify(pairs[:2])
    ours._similarity._cache.clear()
    plain = pipeline("feature-extraction", model=resolve_base_model(EMBEDDING_MODEL), device="cpu")

    def embed(text: str) -> torch.Tensor:
        vector = torch.tensor(plain(text, truncation=True, max_length=512)[0]).mean(0)
        return torch.nn.functional.normalize(vector, dim=0)

    def one_at_a_time():
        with torch.inference_mode():
            return [float(embed(statement(c)) @ embed(e)) for e, c in pairs]

    return [("default embedding model: transformers pipeline, one pair at a time", _time(one_at_a_time)[0]),
            ("citeline default verifier (windows, sorted batches, calibrator)", _time(lambda: ours.verify(pairs))[0]),
            ("citeline default verifier, same pairs again (cache)", _time(lambda: ours.verify(pairs))[0])]


def _max_length(model_dir: Path) -> int:
    import json

    settings = model_dir / "citeline.json"
    return json.loads(settings.read_text())["max_length"] if settings.is_file() else 256


def main() -> None:
    import citeline.pipeline  # noqa: F401  (the data model first: citeline.verifiers imports it)
    from citeline.evals.attributionbench import load_examples

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cross-encoder", type=Path, default=Path("runs/verifier-minilm-attr/model"),
                        help="a cross-encoder folder (default: the one citeline train-verifier wrote)")
    parser.add_argument("--pairs", type=int, default=150, help="dev pairs to score (default 150)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--data-dir", help="AttributionBench folder (default ../shared/data/attributionbench)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = [e.pair for e in load_examples("dev", args.data_dir) if e.evidence][: args.pairs]
    print(f"{len(pairs)} AttributionBench dev pairs, {torch.get_num_threads()} torch threads\n")
    print("| runner | seconds | pairs/s | speed-up |\n|---|---|---|---|")
    groups = [default_rows(pairs)]
    if (args.cross_encoder / "config.json").is_file():
        groups.insert(0, cross_encoder_rows(args.cross_encoder, pairs))
    for rows in groups:
        baseline = rows[0][1]
        for name, seconds in rows:
            print(f"| {name} | {seconds:.1f} | {len(pairs) / seconds:.1f} | {baseline / seconds:.1f}x |")


if __name__ == "__main__":
    main()
