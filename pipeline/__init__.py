"""citeline's workflows (check, cite, revise, batch runs) and, for convenience, the data model
(``citeline.core``), so ``from citeline.pipeline import CitationChecker, Document`` works.
Importing this is cheap: models load on first use."""

from citeline.core import *  # noqa: F403 - the data model, re-exported
from citeline.core import __all__ as _DATA_MODEL
from citeline.core.claims import ClaimSplitter
from citeline.core.sentences import RegexSentenceSplitter, SpacySentenceSplitter
from citeline.pipeline.check import CheckRequest, CitationChecker

__all__ = sorted([*_DATA_MODEL, "CheckRequest", "CitationChecker", "ClaimSplitter", "RegexSentenceSplitter",
                  "SpacySentenceSplitter"])
