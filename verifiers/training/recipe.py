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
