"""``citeline train-verifier``. Standard library only at import time (fast --help)."""

from __future__ import annotations

import argparse

from citeline.pipeline.cli.options import add_command

EXAMPLES = """\
examples:
  # rebuild citeline's shipped entailment verifier: training data (public NLI sets and about
  # 160k synthetic contrastive pairs, under runs/verifier-data), a three-class MiniLM
  # cross-encoder (about 2 hours on 2 CPU cores; rerun the same command after a stop and it
  # resumes from its last checkpoint), the calibrator, and a copy into the package
  citeline train-verifier --config verifiers/configs/citeline_nli.json \\
      --export verifiers/models/citeline-nli-minilm

  # train that model on, over the batches it has not seen ("start_step" in the config's train
  # section); written to runs/verifier-nli-continued, compare before you --export
  citeline train-verifier --config verifiers/configs/citeline_nli_continued.json

  # rebuild citeline's shipped verifier (about 2 minutes: a calibrator over the stock MiniLM
  # signals, fitted on AttributionBench dev) and copy it into the package
  citeline train-verifier --config verifiers/configs/citeline_attr.json \\
      --export verifiers/models/citeline-minilm-attr

  # fine-tune a MiniLM cross-encoder (about 40 minutes on 2 CPU cores), written elsewhere
  citeline train-verifier --config verifiers/configs/minilm_cross_encoder.json --output-dir runs/my-verifier

  # tune the embedding model's token alignment instead (objective "token_alignment")
  citeline train-verifier --config verifiers/configs/minilm_token_alignment.json

The config is JSON with the fields of citeline.verifiers.training.attribution_config.TrainConfig
(objective, base model, data mix, seed, max_length, calibrator_features, ...). Training data is
read from data_dir (../shared/data by default). AttributionBench dev is split by question: a trained
network learns on one part and is chosen and calibrated on the held-out part. The run writes
<output_dir>/model (the network, if any, with its calibrator.json and citeline.json),
train_log.json and calibration.json (what each signal scores on dev; each calibrator
out-of-fold and leave one dataset out); then
`citeline bench attributionbench --verifier <output_dir>/model`.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers, "train-verifier", help="train and calibrate a verifier from a config",
        description="Train an (evidence, claim) -> P(supported) verifier: a calibrator over embedding and "
                    "lexical signals, optionally with a fine-tuned cross-encoder or a tuned embedding model.",
        epilog=EXAMPLES)
    parser.add_argument("--config", help="JSON training config (default: the built-in defaults)")
    parser.add_argument("--output-dir", help="where the model and log go (overrides the config)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="skip training: refit the calibrator of the network already in --output-dir")
    parser.add_argument("--export", metavar="DIR",
                        help="then copy the calibrator and settings (and the network, as float16 weights) to DIR, "
                             "replacing the files there but README.md")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Threads that sleep rather than spin while they wait: with any other busy process on the
    # machine, spinning threads were measured 3x slower per training step.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        objective = json.loads(open(args.config, encoding="utf-8").read()).get("objective") if args.config else None
    except (OSError, ValueError) as error:
        print(f"citeline train-verifier: cannot read --config {args.config}: {error}", file=sys.stderr)
        return 2
    if objective == "nli":
        from citeline.verifiers.training.recipe import main as run_recipe
    else:
        from citeline.verifiers.training.attribution_calibration import main as run_recipe
    try:
        return run_recipe(args.config, args.output_dir, progress=not args.no_progress,
                          calibrate_only=args.calibrate_only, export_to=args.export)
    except ValueError as error:
        print(f"citeline train-verifier: {error}", file=sys.stderr)
        return 2
