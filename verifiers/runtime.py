"""Where an encoder model's forward pass runs: ONNX Runtime or torch.

ONNX Runtime needs neither torch nor transformers at run time, which is what lets a fresh
``citeline check`` start in about 2 s instead of 7 (importing torch and transformers' model
code alone took 3-4 s here), in a third less memory; with attention fused it runs 6-16% slower
than torch on this CPU (torch stays the choice for long batch runs: ``CITELINE_RUNTIME``). A model
folder (weights and ``config.json``) is exported to ONNX once, with torch, and optimised (fused
attention, layer norms and GELU), into ``~/.cache/citeline/onnx``; later processes load that
file. int8 (``precision="int8"``, which a model's settings opt into) is that export quantised
once more, by ONNX Runtime's quantiser. torch remains the runtime for training, for bfloat16
and for models that do not export.

An encoder here is a callable from a batch of numpy arrays (``input_ids``, ``attention_mask``,
``token_type_ids``) to one float32 numpy array: the classifier's logits, or the last hidden state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import weakref
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

RUNTIMES = ("auto", "onnx", "torch")
RUNTIME_ENV = "CITELINE_RUNTIME"  # what "auto" means for every verifier of the process, where set
HEADS = ("classifier", "encoder")  # what the model's output is: logits, or the last hidden state
ONNX_OPSET = 17
ONNX_PRECISIONS = ("float32", "int8")
Batch = Mapping[str, np.ndarray]
Encoder = Callable[[Batch], np.ndarray]


def check_runtime(runtime: str, what: str = "runtime") -> str:
    if runtime not in RUNTIMES:
        raise ValueError(f"{what} must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    return runtime


def resolve_runtime(runtime: str) -> str:
    """The runtime asked for: "auto" is ``$CITELINE_RUNTIME`` where set (a bad value there is
    this machine's setting, not the input's: it stops a run once)."""
    if check_runtime(runtime) == "auto" and os.environ.get(RUNTIME_ENV):
        from citeline.core.errors import EnvironmentFailure

        try:
            return check_runtime(os.environ[RUNTIME_ENV], f"${RUNTIME_ENV}")
        except ValueError as error:
            raise EnvironmentFailure(str(error)) from None
    return runtime


def use_onnx(runtime: str, precision: str | None, device: str = "cpu") -> bool:
    """Whether ``runtime`` resolves to ONNX Runtime: "auto" (without ``$CITELINE_RUNTIME``) is
    ONNX Runtime for float32 or int8 on a CPU where onnxruntime is installed (bfloat16 and GPUs
    are torch's)."""
    runtime = resolve_runtime(runtime)
    if runtime == "torch":
        return False
    plain = device == "cpu" and precision in (None, "auto", *ONNX_PRECISIONS)
    if runtime == "onnx":
        if not plain:
            raise ValueError(f"the onnx runtime runs float32 and int8 on a CPU; precision {precision!r} on "
                             f"{device!r} needs runtime='torch'")
        if find_spec("onnxruntime") is None:
            raise ImportError("runtime='onnx' needs onnxruntime: pip install 'citeline[models]'")
        return True
    return plain and find_spec("onnxruntime") is not None


def onnx_precision(precision: str | None) -> str:
    """What ONNX Runtime runs for a precision ``use_onnx`` accepted: int8, else float32."""
    return "int8" if precision == "int8" else "float32"


def model_labels(model_dir: str | Path) -> dict[int, str]:
    """The classifier's id2label, as transformers reads it (LABEL_i for a config that names none)."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    labels = config.get("id2label") or {i: f"LABEL_{i}" for i in range(config.get("num_labels", 2))}
    return {int(i): str(name) for i, name in labels.items()}


def onnx_path(model_dir: str | Path, head: str, precision: str = "float32") -> Path:
    """Where the folder's exported model is cached. The name changes with the weights (size and
    modification time), the head, the precision and the onnxruntime version, so a retrained
    model is exported anew."""
    from importlib.metadata import version

    from citeline.core.paths import cache_dir

    folder = Path(model_dir).resolve()
    weights = _weights_file(folder)
    stat = weights.stat()
    key = f"{folder}|{stat.st_size}|{stat.st_mtime_ns}|{head}|onnxruntime {version('onnxruntime')}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()
    suffix = "" if precision == "float32" else f"-{precision}"
    return cache_dir() / "onnx" / f"{model_name(folder)}-{head}-{digest}{suffix}.onnx"


def model_name(folder: Path) -> str:
    """A folder's name for people: a pip package's ``model/`` folder is named by its package."""
    return folder.parent.name if folder.name == "model" else folder.name


def _weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder} has no model.safetensors or pytorch_model.bin to export to ONNX")


def onnx_encoder(model_dir: str | Path, head: str, num_threads: int | None = None,
                 precision: str = "float32") -> Encoder:
    """An ONNX Runtime session for a local model folder, exported (and for int8, quantised from
    the float32 export) on first use."""
    folder = Path(model_dir).resolve()
    path = onnx_path(folder, head, precision)
    if not path.is_file():
        source = onnx_path(folder, head)
        if not source.is_file():
            print(f"citeline: exporting {model_name(folder)} to ONNX once (about 10 s); later runs load {path}",
                  file=sys.stderr, flush=True)
            export_onnx(folder, head, source)
            _note_source(source, folder)
        if precision == "int8":
            quantize_onnx(source, path)
            _note_source(path, folder)
        prune_exports(path.parent)
    return OnnxEncoder(path, num_threads)


def _note_source(path: Path, folder: Path) -> None:
    path.with_suffix(".json").write_text(json.dumps({"source": str(folder)}), encoding="utf-8")


def prune_exports(folder: Path) -> None:
    """Delete exports whose model folder is gone (a deleted clone, a test's temp folder), so the
    cache does not grow by a copy per checkout."""
    for note in folder.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            if not Path(json.loads(note.read_text(encoding="utf-8"))["source"]).is_dir():
                note.with_suffix(".onnx").unlink(missing_ok=True)
                note.unlink()


def load_onnx(model_dir: str | Path, head: str, runtime: str, precision: str | None, device: str = "cpu",
              num_threads: int | None = None) -> tuple[Encoder, FastTokenizer] | None:
    """The ONNX Runtime encoder and tokenizer of a model, or None where it is to run on torch:
    the runtime resolves to torch, the model is not a local folder with a ``tokenizer.json``, or
    (under "auto" only, with a warning) it does not export."""
    if not use_onnx(runtime, precision, device):
        return None
    folder = Path(model_dir)
    explicit = resolve_runtime(runtime) == "onnx"
    if not (folder / "config.json").is_file() or not FastTokenizer.available(folder):
        if explicit:
            raise ValueError(f"runtime='onnx' needs a local model folder with config.json and tokenizer.json, "
                             f"not {str(model_dir)!r}")
        return None
    try:
        encoder = onnx_encoder(folder, head, num_threads, onnx_precision(precision))
    except Exception as error:  # noqa: BLE001 - any export failure: torch can still run the model
        if explicit:
            raise
        print(f"citeline: {folder} did not export to ONNX ({error}); running it with torch", file=sys.stderr)
        return None
    return encoder, FastTokenizer(folder)


class OnnxEncoder:
    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        # Threads that spin between ops were measured slower here, and steal cores from other work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._shrink = onnxruntime.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        _ENCODERS.add(self)

    def __call__(self, batch: Batch) -> np.ndarray:
        """A batch without ``token_type_ids`` is one segment, as transformers reads it."""
        ids = batch["input_ids"]
        feed = {name: np.ascontiguousarray(batch[name] if name in batch else np.zeros_like(ids), dtype=np.int64)
                for name in self._inputs}
        return self._session.run(None, feed)[0].astype(np.float32, copy=False)

    def shrink(self) -> None:
        """Hand the arena's unused memory back: a one-token run that ends in arena shrinkage
        (safe beside other runs of the session: memory they use stays)."""
        one, zero = np.ones((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64)
        feed = {name: zero if name == "token_type_ids" else one for name in self._inputs}
        self._session.run(None, feed, self._shrink)


_ENCODERS: weakref.WeakSet[OnnxEncoder] = weakref.WeakSet()


def shrink_arenas() -> None:
    """Every ONNX Runtime session of the process hands back its arena's unused memory. The
    arena keeps the largest batch's activations for good (285 MB more after one batch of 32 at
    256 tokens); turning it off instead cost large batches 24% of their speed here. A server
    calls this every few seconds (``FreedMemoryReturner``)."""
    for encoder in list(_ENCODERS):
        try:
            encoder.shrink()
        except Exception as error:  # noqa: BLE001 - memory housekeeping must never stop a server
            print(f"citeline: could not shrink an ONNX Runtime arena ({error})", file=sys.stderr)


class TorchEncoder:
    """A transformers model in memory (loaded here, or being trained) behind the same call."""

    def __init__(self, model: Any, head: str, precision: str = "float32", device: str = "cpu") -> None:
        self.model, self.head, self.precision, self.device = model, head, precision, device

    def __call__(self, batch: Batch) -> np.ndarray:
        import torch

        from citeline.verifiers.loading import inference_precision

        inputs = {k: torch.from_numpy(np.asarray(v, dtype=np.int64)).to(self.device) for k, v in batch.items()}
        with torch.inference_mode(), inference_precision(self.precision, self.device):
            output = self.model(**inputs)
        tensor = output.logits if self.head == "classifier" else output.last_hidden_state
        return tensor.float().cpu().numpy()


def export_onnx(model_dir: str | Path, head: str, path: str | Path) -> Path:
    """Export a model folder to ONNX (dynamic batch and length) and fuse its BERT-style blocks
    where ONNX Runtime's optimiser knows the architecture. Written atomically: processes that
    export at once each write their own file and the last rename wins."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, not {head!r}")
    try:
        import torch
        from transformers import AutoModel, AutoModelForSequenceClassification
    except ImportError as error:
        raise ImportError(f"exporting {model_dir} to ONNX once needs torch and transformers "
                          f"(pip install 'citeline[models]'): {error}") from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    loader = AutoModelForSequenceClassification if head == "classifier" else AutoModel
    # Eager attention exports as plain matmuls, which the optimiser fuses into one Attention node.
    model = loader.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="eager").eval()
    segments = getattr(model.config, "type_vocab_size", 1) > 1  # e.g. RoBERTa and DistilBERT have none
    names = ["input_ids", "attention_mask", "token_type_ids"][:3 if segments else 2]
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    output = "logits" if head == "classifier" else "last_hidden_state"

    class Traced(torch.nn.Module):  # explicit inputs, one tensor out: what the tracer handles
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: Any) -> Any:
            return getattr(self.inner(**dict(zip(names, inputs))), output)

    axes = {name: {0: "batch", 1: "length"} for name in names}
    axes[output] = {0: "batch"} if head == "classifier" else {0: "batch", 1: "length"}
    raw = path.with_name(f"{path.stem}.{os.getpid()}.raw.onnx")
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
    try:
        with _quiet(), torch.inference_mode():
            torch.onnx.export(Traced(), example, str(raw), input_names=names, output_names=[output],
                              dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False)
        _optimise(raw, tmp, model.config)
        os.replace(tmp, path)
    finally:
        for leftover in (raw, tmp):
            leftover.unlink(missing_ok=True)
    return path


def _optimise(source: Path, target: Path, config: Any) -> None:
    """ONNX Runtime's transformer fusions for BERT-like encoders; other architectures as exported."""
    if config.model_type not in ("bert", "roberta", "xlm-roberta"):
        os.replace(source, target)
        return
    from onnxruntime.transformers import optimizer

    with _quiet():
        model = optimizer.optimize_model(str(source), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size, opt_level=1)
        model.save_model_to_file(str(target))


def quantize_onnx(source: Path, target: Path) -> Path:
    """Dynamic int8 quantisation of an exported model's matrix products (the weights stored as
    int8, one scale per tensor; activations quantised on the fly), by ONNX Runtime's quantiser.
    About 1.5x faster than float32 here; written atomically, as ``export_onnx``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    try:
        with _quiet():
            # The fused Attention nodes are of ONNX Runtime's own domain: the default type says
            # what shape inference cannot tell of their outputs.
            quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul", "Attention", "Gemm"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _quiet():
    """The exporters' deprecation notices and tracer warnings are not the user's business."""
    import logging
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


class FastTokenizer:
    """A model folder's ``tokenizer.json`` through the ``tokenizers`` library, answering the calls
    that citeline makes of a transformers tokenizer (same ids, offsets and truncation: transformers'
    fast tokenizers run the same library), without importing transformers."""

    def __init__(self, model_dir: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        settings_file = folder / "tokenizer_config.json"
        settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
        special = {i for i, token in self._tokenizer.get_added_tokens_decoder().items() if token.special}
        self.all_special_ids = sorted(special)
        pad = settings.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self._tokenizer.token_to_id(pad) if pad else None
        self._lock = threading.Lock()  # truncation is the tokenizer's state, set per call

    @classmethod
    def available(cls, model_dir: str | Path) -> bool:
        return (Path(model_dir) / "tokenizer.json").is_file() and find_spec("tokenizers") is not None

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str | None]:
        return [self._tokenizer.id_to_token(i) for i in ids]

    def __call__(self, text: str | Sequence[str], text_pair: str | Sequence[str] | None = None, *,
                 add_special_tokens: bool = True, padding: bool = False, truncation: bool = False,
                 max_length: int | None = None, return_offsets_mapping: bool = False,
                 return_tensors: str | None = None, verbose: bool = True) -> dict[str, Any]:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        pairs = None if text_pair is None else ([text_pair] if isinstance(text_pair, str) else list(text_pair))
        inputs = texts if pairs is None else list(zip(texts, pairs))
        with self._lock:
            if truncation and max_length:
                self._tokenizer.enable_truncation(max_length, strategy="longest_first")
            try:
                encodings = self._tokenizer.encode_batch(inputs, add_special_tokens=add_special_tokens)
            finally:
                self._tokenizer.no_truncation()
        out: dict[str, Any] = {"input_ids": [e.ids for e in encodings],
                               "token_type_ids": [e.type_ids for e in encodings],
                               "attention_mask": [e.attention_mask for e in encodings]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in encodings]
        if return_tensors is not None:
            if return_tensors != "np" or not padding:
                raise ValueError("FastTokenizer returns lists, or padded numpy arrays "
                                 "(padding=True, return_tensors='np')")
            return _padded(out, self.pad_token_id or 0)
        return {k: v[0] for k, v in out.items()} if single else out


def _padded(out: dict[str, list[list[int]]], pad_id: int) -> dict[str, np.ndarray]:
    """Right padding to the longest sequence, as transformers' ``padding=True``."""
    width = max((len(ids) for ids in out["input_ids"]), default=0)
    arrays = {}
    for name, rows in out.items():
        if name == "offset_mapping":
            continue
        fill = pad_id if name == "input_ids" else 0
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for row, values in enumerate(rows):
            array[row, :len(values)] = values
        arrays[name] = array
    return arrays
