"""Verifier throughput on AttributionBench dev pairs, against the same models run one pair at a
time through plain transformers pipelines, in this process, on the same pairs.

    python benchmarks/verifier.py                  # 300 dev pairs, 2 threads
    python benchmarks/verifier.py --pairs 1198     # all of dev

Rows, each timed cold (citeline's caches start empty, models already loaded), the fastest of
--repeats runs:
- baseline: the default verifier's models one pair at a time, float32: the embedding model in a
  feature-extraction pipeline (claim, then evidence; similarity and token recall from its token
  vectors; citeline's per-sentence pooling of the same vectors is left out, as it adds no pass)
  and, where the calibrator uses one, the cross-encoder in a text-classification pipeline. The
  pipelines cut the evidence at 512 tokens where citeline reads all of it in windows, so
  citeline does at least as much model work.
- citeline's default verifier as shipped (ONNX Runtime; the embedding model in int8, the
  cross-encoder in float32), and the same on torch, with
  the ID-Avg macro-F1 of each on these pairs, so the cost of a setting in accuracy is measured
  where its speed is (``--variants``: precisions, runtimes, window bounds).
- the same pairs again (the cache).
Prints a markdown table; ratios are against the baseline row.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def pipeline_baseline(pairs: list[tuple[str, str]]) -> Callable[[], list[tuple[float, ...]]]:
    """The default verifier's models, one pair at a time through transformers pipelines: the
    embedding model as feature extraction of claim and evidence (sentence similarity and token
    recall from its token vectors) and, where the calibrator uses one, the cross-encoder as text
    classification."""
    import torch
    from transformers import pipeline

    from citeline.core.paths import resolve_pip_model
    from citeline.verifiers.calibrated import Calibrator, embedding_model_of, model_settings, statement
    from citeline.verifiers.default import default_model_dir

    folder = default_model_dir()
    embedding_model = resolve_pip_model(embedding_model_of(folder, model_settings(folder)))
    extract = pipeline("feature-extraction", model=embedding_model, device="cpu", dtype=torch.float32)
    classify = pipeline("text-classification", model=str(folder), device="cpu", top_k=None,
                        dtype=torch.float32) if Calibrator.load(folder).uses_cross_encoder else None

    def tokens(text: str) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.tensor(extract(text, truncation=True, max_length=512)[0]), dim=-1)

    def signals(evidence: str, claim: str) -> tuple[float, ...]:
        claim_tokens, evidence_tokens = tokens(statement(claim)), tokens(evidence)
        similarity = float(torch.nn.functional.normalize(claim_tokens.mean(0), dim=0)
                           @ torch.nn.functional.normalize(evidence_tokens.mean(0), dim=0))
        recall = float((claim_tokens @ evidence_tokens.T).max(dim=1).values.mean())
        if classify is None:
            return similarity, recall
        classes = {c["label"]: c["score"] for c in classify({"text": evidence, "text_pair": statement(claim)},
                                                           truncation=True)}
        return classes.get("entailment", 0.0), classes.get("contradiction", 0.0), similarity, recall

    def run() -> list[tuple[float, ...]]:
        with torch.inference_mode():
            return [signals(e, c) for e, c in pairs]

    return run


def parse_variant(text: str) -> tuple[str | None, int | None, str]:
    """(precision, at most N evidence windows per claim sentence, runtime) of a variant: "default"
    (the model's own settings), "torch" / "onnx" (the model's own precisions on that runtime), or
    a precision for both networks, "int8" or "int8:4" (float32 and int8 run on ONNX Runtime,
    others on torch)."""
    if text == "default":
        return None, None, "auto"
    precision, _, windows = text.partition(":")
    if precision in ("onnx", "torch"):
        return None, int(windows) if windows else None, precision
    return precision, int(windows) if windows else None, "auto" if precision in ("float32", "int8") else "torch"


def main() -> None:
    from citeline.evals import contrast
    from citeline.evals.attributionbench import load_examples, predict, score_predictions
    from citeline.verifiers.calibrated import CalibratedVerifier
    from citeline.verifiers.default import default_model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=300, help="dev pairs to score (default 300)")
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per runner, fastest kept (default 2)")
    parser.add_argument("--data-dir", help="AttributionBench folder (default ../shared/data/attributionbench)")
    parser.add_argument("--variants", default="default,torch",
                        help="comma-separated verifier settings to time: default (the model's own: ONNX "
                             "Runtime, the embedding model in int8), onnx or torch (the model's own "
                             "precisions on that runtime), a precision for both networks (float32 or int8 "
                             "on ONNX Runtime; bfloat16 or auto on torch), or VARIANT:N for at most N "
                             "evidence windows per claim sentence (default: default,torch)")
    parser.add_argument("--contrast", metavar="FILE",
                        help="also score each variant on this contrast set's calibration slice (a dev "
                             "slice: runs/verifier-data/contrast_dev.jsonl), to see what a setting costs")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    examples = [e for e in load_examples("dev", args.data_dir) if e.evidence][: args.pairs]
    pairs = [e.pair for e in examples]
    verifiers = {}
    for variant in args.variants.split(","):
        precision, windows, runtime = parse_variant(variant)
        verifiers[variant] = CalibratedVerifier(default_model_dir(), precision=precision, max_windows=windows,
                                                runtime=runtime, num_threads=args.threads)
    for verifier in verifiers.values():
        verifier.verify(pairs[:2])  # load outside the timing, as the pipelines are
        verifier.clear_cache()
    baseline = pipeline_baseline(pairs)
    # Each runner is timed --repeats times, the runners taking turns, and its fastest run is kept:
    # on a shared machine the slower runs measure the neighbours, not the code.
    best: dict[str, float] = {}
    scores: dict[str, float | None] = {}
    for _ in range(args.repeats):
        best["baseline"] = min(best.get("baseline", float("inf")), _time(baseline)[0])
        for variant, verifier in verifiers.items():
            verifier.clear_cache()
            seconds, predictions = _time(lambda v=verifier: predict(v, examples))
            best[variant] = min(best.get(variant, float("inf")), seconds)
            scores[variant] = score_predictions(examples, predictions).id_avg
    baseline_seconds = best["baseline"]
    rows = [("plain transformers pipelines, one pair at a time (float32)", baseline_seconds, None, "")]
    contrast_rows = contrast.load_rows(args.contrast, "calibration") if args.contrast else []
    for variant, verifier in verifiers.items():
        described = "as shipped" if variant == "default" else variant.replace(":", ", windows <= ")
        kinds = ""
        if contrast_rows:
            result = contrast.evaluate(verifier, contrast_rows)
            kinds = " / ".join(f"{result.kinds[k]['macro_f1']:.1f}" for k in sorted(result.kinds)) + \
                f" / {result.original_accepted:.1f}%"
        rows.append((f"citeline default verifier, {described}", best[variant], scores[variant], kinds))
    last = next(reversed(verifiers.values()))
    rows.append(("citeline default verifier, same pairs again (cache)", _time(lambda: last.verify(pairs))[0], None, ""))

    print(f"{len(pairs)} AttributionBench dev pairs, {torch.get_num_threads()} torch threads, "
          f"fastest of {args.repeats} runs each\n")
    header = "| runner | seconds | pairs/s | speed-up | dev ID-Avg macro-F1 on these pairs |"
    if contrast_rows:
        header += f" contrast calibration slice ({len(contrast_rows)} rows): {' / '.join(sorted(result.kinds))} / originals accepted |"
    print(header + "\n|" + "---|" * header.count(" |"))
    for name, seconds, f1, kinds in rows:
        score = f"{f1:.1f}" if f1 is not None else ""
        line = f"| {name} | {seconds:.1f} | {len(pairs) / seconds:.1f} | {baseline_seconds / seconds:.1f}x | {score} |"
        print(line + (f" {kinds} |" if contrast_rows else ""))


if __name__ == "__main__":
    main()
