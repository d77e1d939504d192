"""The verifier every command uses unless told otherwise."""

from __future__ import annotations

from citeline.verifiers.base import Verifier


def load_default_verifier() -> Verifier:
    from citeline.verifiers.lexical import LexicalVerifier

    return LexicalVerifier()


def load_verifier(spec: str | None) -> Verifier:
    """``None`` or "default": the shipped default; "lexical": the lexical baseline."""
    if spec in (None, "", "default"):
        return load_default_verifier()
    if spec == "lexical" or spec.startswith("lexical@"):
        from citeline.verifiers.lexical import LexicalVerifier

        return LexicalVerifier(float(spec.split("@", 1)[1])) if "@" in spec else LexicalVerifier()
    raise ValueError(f"unknown verifier {spec!r}: use 'default', 'lexical' or 'lexical@THRESHOLD'")
