"""Which precision runs an encoder model fastest on this machine, measured; and int8 weights."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
# bfloat16 must beat float32 by this much to be picked: float32 is the more exact of the two.
BFLOAT16_MARGIN = 0.9


def inference_precision(precision: str, device: str = "cpu") -> Any:
    """A context that runs a model in ``precision`` ("float32" or "bfloat16"; resolve "auto"
    with ``measured_precision`` first: it is then float32; an "int8" model was converted once by
    ``with_precision`` and runs as it is)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "bfloat16" or device != "cpu":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)


def with_precision(model: Any, precision: str, device: str = "cpu") -> Any:
    """The model to run in ``precision``: for "int8" on a CPU, a copy whose linear layers hold int8
    weights and quantise their inputs on the fly (dynamic quantisation: about 1.5x faster here;
    "auto" never picks it, since it changes the scores: a model opts in through its settings once
    the accuracy cost is measured); otherwise the model itself."""
    if precision != "int8" or device != "cpu":
        return model
    import warnings

    import torch

    with warnings.catch_warnings():  # torch.ao's deprecation notices: the API is pinned with torch
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def measured_precision(model: Any, device: str = "cpu") -> str:
    """float32 or bfloat16 autocast, whichever runs ``model`` faster on this machine.

    Whether bfloat16 pays depends on more than a CPU flag (AVX512-BF16 without AMX was measured
    slower than float32 here), so it is timed: a small batch, both ways, once per machine, torch
    version and model shape, remembered in ~/.cache/citeline/precision.json. A CPU without native
    bfloat16 (it would be emulated) is not timed.
    """
    import torch

    if device != "cpu":
        return "float32"
    native = any(getattr(torch.cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported",
                                                                        "_is_amx_tile_supported"))
    if not native:
        return "float32"
    config = model.config
    key = f"{_cpu_name()}|torch {torch.__version__}|{config.model_type} {config.hidden_size}x{config.num_hidden_layers}"
    cache = _precision_cache()
    remembered = _read_json(cache).get(key)
    if remembered in ("float32", "bfloat16"):
        return remembered
    timings = _time_forward(model)
    choice = "bfloat16" if timings["bfloat16"] < BFLOAT16_MARGIN * timings["float32"] else "float32"
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({**_read_json(cache), key: choice}, indent=1))
    return choice


def _time_forward(model: Any, rounds: int = 4) -> dict[str, float]:
    """The fastest of ``rounds`` forward passes of a small batch per precision, the two taking
    turns so that other load on the machine slows both alike."""
    import torch

    config = model.config
    ids = torch.randint(0, config.vocab_size, (16, min(128, getattr(config, "max_position_embeddings", 128))))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    best = {"float32": float("inf"), "bfloat16": float("inf")}
    with torch.inference_mode():
        for round_ in range(rounds + 1):
            for precision in best:
                with inference_precision(precision):
                    started = time.perf_counter()
                    model(**inputs)
                    if round_:  # the first round warms up (allocations, kernel choice)
                        best[precision] = min(best[precision], time.perf_counter() - started)
    return best


def _precision_cache() -> Path:
    from citeline.core.paths import cache_dir

    return cache_dir() / "precision.json"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or platform.machine()
