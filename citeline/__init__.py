"""citeline: check whether the citations in an LLM answer are supported by their sources.

    import citeline
    report = citeline.check("Paris is the capital of France [1].", ["Paris is the capital of France."])
    report.to_dict()

Sources are strings, ``{"id"?, "title"?, "text"}`` dicts or ``Document``s, in citation order
(``[1]`` is the first). Everything here is imported on first use, so ``import citeline`` and
``citeline --help`` stay fast; the subpackages (``citeline.core``, ``citeline.pipeline``, ...)
live in the repository's top-level folders (see pyproject.toml).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CitationChecker", "Document", "Report", "check"]

_LAZY = {"CitationChecker": "citeline.pipeline.check", "Document": "citeline.core.types",
         "Report": "citeline.core.types"}
_checkers: dict[tuple[str, str], Any] = {}  # one per (verifier, splitter) spec: models load once


def check(answer: str, sources: Any, *, verifier: Any = "default", splitter: Any = "spacy") -> Any:
    """A ``Report`` on ``answer``'s citations of ``sources``.

    ``verifier`` and ``splitter`` are the command line's names (``"lexical"``, ``"regex"``) or
    objects; a checker built from names is kept and reused by later calls.
    """
    return _checker(verifier, splitter).check(answer, sources)


def _checker(verifier: Any, splitter: Any) -> Any:
    from citeline.core.claims import ClaimSplitter
    from citeline.core.sentences import make_splitter
    from citeline.pipeline.check import CitationChecker
    from citeline.verifiers.default import load_verifier

    named = isinstance(verifier, str) and isinstance(splitter, str)
    if named and (verifier, splitter) in _checkers:
        return _checkers[verifier, splitter]
    checker = CitationChecker(load_verifier(verifier) if isinstance(verifier, str) else verifier,
                              ClaimSplitter(make_splitter(splitter) if isinstance(splitter, str) else splitter))
    if named:
        _checkers[verifier, splitter] = checker
    return checker


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'citeline' has no attribute {name!r}")
