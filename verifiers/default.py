"""The verifier registry, and the verifier every command uses unless told otherwise.

A ``--verifier`` spec is a registered name, optionally with an argument after ``@`` or ``:``
(``lexical@0.6``, ``judge:openai:my-model``), or else a Hugging Face model name or folder
(``MODEL#LABEL`` names a cross-encoder's "supported" class where its labels do not say).

The default is the numeric checker (``verifiers/numeric.py``: every number of the claim matched,
or recomputed, from the evidence) in front of citeline's entailment verifier, shipped in the
package (``verifiers/models/citeline-nli-minilm``): a three-class MiniLM cross-encoder combined
with presence signals by a calibrator (see its model card). Without the ``models`` extra (torch,
transformers) the lexical baseline stands in behind the numeric checker, with a warning.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from citeline.core.registry import Registry
from citeline.verifiers.base import Verifier

DEFAULT_MODEL = "citeline-nli-minilm"
PREVIOUS_MODEL = "citeline-minilm-attr"  # the default before the entailment model: presence signals only
MODELS_DIR = Path(__file__).resolve().parent / "models"

# A factory is called with no argument, or with the text after the name's "@" or ":".
VERIFIERS = Registry("verifier")
VERIFIERS.add("default", "citeline.verifiers.default:load_default_verifier",
              f"the numeric checker, then {DEFAULT_MODEL} (shipped in the package; lexical without the models extra)")
VERIFIERS.add("nli", "citeline.verifiers.default:load_entailment_verifier",
              f"{DEFAULT_MODEL} alone, without the numeric checker")
VERIFIERS.add("presence", "citeline.verifiers.default:load_presence_verifier",
              f"{PREVIOUS_MODEL}, the previous default: similarity, token recall, number overlap")
VERIFIERS.add("lexical", "citeline.verifiers.lexical:lexical",
              "share of the claim's content words found in the evidence; lexical@T sets the threshold (0.55)")
VERIFIERS.add("judge", "citeline.verifiers.judge:judge",
              "judge:BACKEND[:MODEL], an LLM judge on a generation backend (openai: server at $OPENAI_BASE_URL)")
VERIFIERS.add("cascade", "citeline.verifiers.judge:cascade",
              "cascade:BACKEND[:MODEL], the default verifier with the judge deciding its uncertain band")
VERIFIERS.add("numeric", "citeline.verifiers.numeric:numeric",
              "numeric[:SPEC], the claim's numbers checked against the evidence (recomputing differences, "
              "sums, ratios, growth), then SPEC (default: nli) for the rest")
MODEL_SPEC_HELP = ("or a Hugging Face model name or folder (MODEL#1 names its 'supported' class where its labels "
                   "do not, e.g. lytang/MiniCheck-RoBERTa-Large#1)")
_SPEC = re.compile(r"^(?P<name>[a-z]+)(?:[@:](?P<argument>.*))?$")


def verifier_help() -> str:
    """What ``--verifier`` accepts, for every command's --help."""
    return f"{VERIFIERS.help()}; {MODEL_SPEC_HELP}"


def default_model_dir() -> Path:
    return MODELS_DIR / DEFAULT_MODEL


def load_default_verifier() -> Verifier:
    from citeline.verifiers.numeric import NumericVerifier

    return NumericVerifier(load_entailment_verifier())


def load_entailment_verifier() -> Verifier:
    return _load_shipped(DEFAULT_MODEL)


def load_presence_verifier() -> Verifier:
    return _load_shipped(PREVIOUS_MODEL)


def _load_shipped(model: str) -> Verifier:
    """A model folder of ``verifiers/models``; the lexical baseline, with a warning, where it
    cannot run (no torch or transformers, or the folder's files are missing)."""
    from importlib.util import find_spec

    folder = MODELS_DIR / model
    missing = [m for m in ("torch", "transformers") if find_spec(m) is None]
    if missing or not (folder / "calibrator.json").is_file():
        from citeline.verifiers.lexical import LexicalVerifier

        reason = f"{', '.join(missing)} not installed (pip install 'citeline[models]')" if missing \
            else f"the shipped model is missing from {folder}"
        print(f"citeline: {reason}; using the lexical baseline verifier", file=sys.stderr)
        return LexicalVerifier()
    return load_model_verifier(folder, name=f"citeline:{model}")


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
