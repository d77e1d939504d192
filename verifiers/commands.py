"""``citeline train-verifier``. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  # retrain citeline's shipped verifier: two stages of about 40 minutes each on 2 CPU cores,
  # the second continuing from the first on newly drawn pairs; then copy it into the package
  citeline train-verifier --config verifiers/configs/minilm_attr_stage1.json
  citeline train-verifier --config verifiers/configs/minilm_attr_stage2.json \
      --export verifiers/models/citeline-minilm-attr

  # the same data and settings, written elsewhere
  citeline train-verifier --config verifiers/configs/minilm_attr_stage1.json --output-dir runs/my-verifier

The config is JSON with the fields of citeline.verifiers.train.TrainConfig (base model, data mix,
seed, max_length, ...). Training data is read from data_dir (../shared/data by default).
The run writes <output_dir>/model (the best checkpoint on held-out AttributionBench dev, with
its calibrator.json fitted on that held-out part) and <output_dir>/train_log.json; then `citeline bench attributionbench --verifier <output_dir>/model`.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-verifier", help="fine-tune a cross-encoder verifier from a config",
        description="Fine-tune a cross-encoder (evidence, claim) -> P(supported) verifier.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="JSON training config (default: the built-in defaults)")
    parser.add_argument("--output-dir", help="where the model and log go (overrides the config)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="skip training: refit the calibrator of the model already in --output-dir")
    parser.add_argument("--export", metavar="DIR",
                        help="then copy the model (float16 weights), tokenizer and calibrator to DIR")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from citeline.verifiers.train import main

    return main(args.config, args.output_dir, progress=not args.no_progress, calibrate_only=args.calibrate_only,
                export_to=args.export)
