"""The shipped entailment verifier's whole recipe from one config file: data, training,
calibration, export. Each step skips what a previous run already finished (the data folder's
config matches; training resumes from its checkpoint), so rerunning the command after a stop
continues where it was."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from citeline.verifiers.training.dataset import DataConfig
from citeline.verifiers.training.nli_trainer import NLITrainConfig


@dataclass
class NLIRecipe:
    data: DataConfig = field(default_factory=DataConfig)
    train: NLITrainConfig = field(default_factory=NLITrainConfig)
    calibration: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> NLIRecipe:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(raw) - {"objective", "data", "train", "calibration"}
        if unknown or raw.get("objective") != "nli":
            raise ValueError(f"{path}: an 'nli' recipe has objective 'nli' and sections data, train, calibration"
                             + (f"; unknown keys {sorted(unknown)}" if unknown else ""))
        try:
            recipe = cls(DataConfig.from_dict(raw.get("data", {})), NLITrainConfig.from_dict(raw.get("train", {})),
                         raw.get("calibration", {}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None
        if Path(recipe.train.data_dir) != Path(recipe.data.output_dir):
            raise ValueError(f"{path}: train.data_dir ({recipe.train.data_dir}) must be data.output_dir "
                             f"({recipe.data.output_dir}), where the data is built")
        return recipe


def build_data(config: DataConfig, progress: bool = True) -> Path:
    """The data set, built unless its folder already holds one made from this config."""
    from citeline.verifiers.training.dataset import build

    stats = Path(config.output_dir) / "stats.json"
    if stats.is_file() and json.loads(stats.read_text(encoding="utf-8")).get("config") == asdict(config):
        print(f"training data: reusing {config.output_dir} (made from this config)", flush=True)
        return Path(config.output_dir)
    return build(config, progress)


def run(recipe: NLIRecipe, progress: bool = True) -> Path:
    from citeline.verifiers.training.nli_trainer import Trainer

    build_data(recipe.data, progress)
    return Trainer(recipe.train, progress).run()


def inference_settings(recipe: NLIRecipe) -> dict[str, Any]:
    """How the shipped verifier reads this model (stored as the model folder's citeline.json)."""
    from citeline.verifiers.similarity import EMBEDDING_MODEL

    # The embedding model in int8 (1.6x faster; the calibrator, fitted on its signals, scored as
    # well out of fold: 78.10 against 77.97). The cross-encoder stays float32: in int8 it cost
    # about a point on the contrast report slice. bfloat16 autocast was measured slower than
    # float32 on CPUs without AMX.
    settings = {"embedding_model": EMBEDDING_MODEL, "max_length": recipe.train.max_length, "windows": "sentences",
                "split_claims": True, "precision": "float32", "embedding_precision": "int8"}
    from citeline.verifiers.training.nli_calibration import CalibrationConfig

    max_windows = CalibrationConfig.from_dict(recipe.calibration).max_windows
    return {**settings, "max_windows": max_windows} if max_windows else settings


def export(model_dir: Path, destination: str | Path, network: str | None = "classifier") -> Path:
    """Copy a model folder into ``destination`` (replacing its files but the model card,
    README.md): the calibrator and settings, and the network, if any ("classifier" or
    "encoder"), in float16 (half the size; the verifier loads it back as float32 on CPU)."""
    import shutil

    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for stale in destination.iterdir():  # e.g. the weights of a network the new calibrator does not use
        if stale.is_file() and stale.name != "README.md":
            stale.unlink()
    if network:
        import torch
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        loader = AutoModelForSequenceClassification if network == "classifier" else AutoModel
        loader.from_pretrained(model_dir, dtype=torch.float32).to(torch.float16).save_pretrained(destination)
        AutoTokenizer.from_pretrained(model_dir).save_pretrained(destination)
    for name in ("calibrator.json", "citeline.json"):
        shutil.copy(Path(model_dir) / name, destination / name)
    return destination


def main(config_path: str, output_dir: str | None = None, progress: bool = True, calibrate_only: bool = False,
         export_to: str | None = None) -> int:
    from citeline.verifiers.training.nli_calibration import CalibrationConfig, calibrate

    recipe = NLIRecipe.load(config_path)
    if output_dir:
        recipe.train.output_dir = output_dir
    out = Path(recipe.train.output_dir)
    if not calibrate_only:
        run(recipe, progress)
    calibrate(out / "model", Path(recipe.data.output_dir) / "contrast_dev.jsonl",
              CalibrationConfig.from_dict(recipe.calibration), inference_settings(recipe), out / "calibration.json")
    if export_to:
        print(f"exported to {export(out / 'model', export_to)}")
    return 0
