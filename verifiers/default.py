"""The verifier every command uses unless told otherwise.

The default is citeline's own verifier, shipped in the package (``verifiers/models/``): MiniLM
similarity to each evidence sentence and token alignment, plus number overlap, combined by a
calibrator fitted on AttributionBench dev (see the model card there). Without the ``models``
extra (torch, transformers) the lexical baseline stands in, with a warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

from citeline.verifiers.base import Verifier

DEFAULT_MODEL = "citeline-minilm-attr"
MODELS_DIR = Path(__file__).resolve().parent / "models"


def default_model_dir() -> Path:
    return MODELS_DIR / DEFAULT_MODEL


def load_default_verifier() -> Verifier:
    from importlib.util import find_spec

    folder = default_model_dir()
    missing = [m for m in ("torch", "transformers") if find_spec(m) is None]
    if missing or not (folder / "calibrator.json").is_file():
        from citeline.verifiers.lexical import LexicalVerifier

        reason = f"{', '.join(missing)} not installed (pip install 'citeline[models]')" if missing \
            else f"the shipped model is missing from {folder}"
        print(f"citeline: {reason}; using the lexical baseline verifier", file=sys.stderr)
        return LexicalVerifier()
    return _load_folder(folder, name=f"citeline:{DEFAULT_MODEL}")


def load_verifier(spec: str | None) -> Verifier:
    """``None``/"default": the shipped model; "lexical" or "lexical@T": the lexical baseline;
    "judge:BACKEND[:MODEL]": an LLM judge; "cascade:BACKEND[:MODEL]": the default verifier, with
    the judge deciding its uncertain band; anything else: a Hugging Face model name or a local
    folder (a cross-encoder, or a citeline model folder with a calibrator.json), where
    "MODEL#LABEL" names the cross-encoder's "supported" class (an index or a label name) for a
    checkpoint whose labels do not say, e.g. "lytang/MiniCheck-RoBERTa-Large#1"."""
    if spec in (None, "", "default"):
        return load_default_verifier()
    if spec.startswith(("judge:", "cascade:")):
        return _load_judge(spec)
    if spec == "lexical" or spec.startswith("lexical@"):
        from citeline.verifiers.lexical import LexicalVerifier

        if "@" not in spec:
            return LexicalVerifier()
        try:
            return LexicalVerifier(float(spec.split("@", 1)[1]))
        except ValueError:
            raise ValueError(f"bad verifier {spec!r}: write lexical@THRESHOLD, e.g. lexical@0.7") from None
    return _load_folder(spec)


def _load_judge(spec: str) -> Verifier:
    """``judge:local``, ``judge:vllm:MODEL``, ``judge:openai:MODEL`` (server at $OPENAI_BASE_URL)."""
    import os

    from citeline.llm.backends import BACKENDS, load_llm
    from citeline.verifiers.judge import CascadeVerifier, LLMJudgeVerifier

    kind, _, rest = spec.partition(":")
    backend, _, model = rest.partition(":")
    if backend not in BACKENDS:
        raise ValueError(f"bad verifier {spec!r}: write {kind}:BACKEND[:MODEL] with BACKEND one of "
                         f"{', '.join(BACKENDS)}, e.g. {kind}:local or {kind}:openai:my-model")
    base_url = os.environ.get("OPENAI_BASE_URL") if backend == "openai" else None
    if backend == "openai" and not base_url:
        raise ValueError(f"verifier {spec!r} needs the server's address: set OPENAI_BASE_URL, "
                         f"e.g. http://127.0.0.1:8000/v1")
    judge = LLMJudgeVerifier(load_llm(backend, model or None, base_url))
    return judge if kind == "judge" else CascadeVerifier(load_default_verifier(), judge)


def _load_folder(spec: str | Path, name: str | None = None) -> Verifier:
    from citeline.verifiers.calibrated import CALIBRATOR_FILE, CalibratedVerifier
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    if (Path(spec) / CALIBRATOR_FILE).is_file():
        return CalibratedVerifier(spec, name=name)
    model, label = str(spec), None
    if "#" in model and not Path(model).exists():
        model, _, label = model.rpartition("#")
        if not model or not label:
            raise ValueError(f"bad verifier {spec!r}: write MODEL#LABEL, the label being the index or name "
                             f"of the class that means 'supported', e.g. lytang/MiniCheck-RoBERTa-Large#1")
    if not Path(model).exists() and "/" not in model:
        raise ValueError(f"unknown verifier {spec!r}: use 'default', 'lexical', 'lexical@THRESHOLD', a local "
                         f"model folder, or a Hugging Face model name like 'org/model'")
    return CrossEncoderVerifier(model, name=name, entailment_label=label)
