"""The verifier registry, and the verifier every command uses unless told otherwise.

A ``--verifier`` spec is a registered name, optionally with an argument after ``@`` or ``:``
(``lexical@0.6``, ``judge:openai:my-model``), or else a Hugging Face model name or folder
(``MODEL#LABEL`` names a cross-encoder's "supported" class where its labels do not say).

The default is citeline's own verifier, shipped in the package (``verifiers/models/``): MiniLM
similarity to each evidence sentence and token alignment, plus number overlap, combined by a
calibrator fitted on AttributionBench dev (see the model card there). Without the ``models``
extra (torch, transformers) the lexical baseline stands in, with a warning.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from citeline.core.registry import Registry
from citeline.verifiers.base import Verifier

DEFAULT_MODEL = "citeline-minilm-attr"
MODELS_DIR = Path(__file__).resolve().parent / "models"

# A factory is called with no argument, or with the text after the name's "@" or ":".
VERIFIERS = Registry("verifier")
VERIFIERS.add("default", "citeline.verifiers.default:load_default_verifier",
              f"{DEFAULT_MODEL}, shipped in the package (lexical without the models extra)")
VERIFIERS.add("lexical", "citeline.verifiers.lexical:lexical",
              "share of the claim's content words found in the evidence; lexical@T sets the threshold (0.55)")
VERIFIERS.add("judge", "citeline.verifiers.judge:judge",
              "judge:BACKEND[:MODEL], an LLM judge on a generation backend (openai: server at $OPENAI_BASE_URL)")
VERIFIERS.add("cascade", "citeline.verifiers.judge:cascade",
              "cascade:BACKEND[:MODEL], the default verifier with the judge deciding its uncertain band")
VERIFIERS.add("numeric", "citeline.verifiers.numeric:numeric",
              "numeric[:SPEC], the claim's numbers checked against the evidence (recomputing differences, "
              "sums, ratios, growth), then SPEC (default: default) for the rest")
MODEL_SPEC_HELP = ("or a Hugging Face model name or folder (MODEL#1 names its 'supported' class where its labels "
                   "do not, e.g. lytang/MiniCheck-RoBERTa-Large#1)")
_SPEC = re.compile(r"^(?P<name>[a-z]+)(?:[@:](?P<argument>.*))?$")


def verifier_help() -> str:
    """What ``--verifier`` accepts, for every command's --help."""
    return f"{VERIFIERS.help()}; {MODEL_SPEC_HELP}"


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
    return load_model_verifier(folder, name=f"citeline:{DEFAULT_MODEL}")


def load_verifier(spec: str | None) -> Verifier:
    """The verifier a spec names (see the module's docstring); nothing loads until first use."""
    if spec in (None, ""):
        return load_default_verifier()
    match = _SPEC.match(spec)
    if match and match["name"] in VERIFIERS:
        factory = VERIFIERS.get(match["name"]).load()
        if match["argument"] is None:
            return factory()
        if not inspect.signature(factory).parameters:
            raise ValueError(f"bad verifier {spec!r}: {match['name']!r} takes no argument")
        return factory(match["argument"])
    return load_model_verifier(spec)


def load_model_verifier(spec: str | Path, name: str | None = None) -> Verifier:
    """A citeline model folder (with a calibrator), else a cross-encoder: a folder or hub name,
    with an optional ``#LABEL``."""
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
        raise ValueError(f"unknown verifier {spec!r}: use one of {', '.join(VERIFIERS.names())}, "
                         f"'lexical@THRESHOLD', a local model folder, or a Hugging Face model name like 'org/model'")
    return CrossEncoderVerifier(model, name=name, entailment_label=label)
