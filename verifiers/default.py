"""The verifier every command uses unless told otherwise.

The default is citeline's own verifier, shipped in the package (``verifiers/models/``): a
calibrator fitted on held-out AttributionBench dev over the all-MiniLM-L6-v2 similarity of claim
and evidence and lexical and numeric overlap (see the model card there). Without the ``models``
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
    anything else: a Hugging Face model name or a local folder (a cross-encoder, or a citeline
    model folder with a calibrator.json)."""
    if spec in (None, "", "default"):
        return load_default_verifier()
    if spec == "lexical" or spec.startswith("lexical@"):
        from citeline.verifiers.lexical import LexicalVerifier

        if "@" not in spec:
            return LexicalVerifier()
        try:
            return LexicalVerifier(float(spec.split("@", 1)[1]))
        except ValueError:
            raise ValueError(f"bad verifier {spec!r}: write lexical@THRESHOLD, e.g. lexical@0.7") from None
    return _load_folder(spec)


def _load_folder(spec: str | Path, name: str | None = None) -> Verifier:
    from citeline.verifiers.calibrated import CALIBRATOR_FILE, CalibratedVerifier
    from citeline.verifiers.cross_encoder import CrossEncoderVerifier

    if (Path(spec) / CALIBRATOR_FILE).is_file():
        return CalibratedVerifier(spec, name=name)
    if not Path(spec).exists() and "/" not in str(spec):
        raise ValueError(f"unknown verifier {spec!r}: use 'default', 'lexical', 'lexical@THRESHOLD', a local "
                         f"model folder, or a Hugging Face model name like 'org/model'")
    return CrossEncoderVerifier(spec, name=name)
