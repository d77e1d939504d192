"""citeline's workflows (check, cite, revise, batch runs) and, for convenience, the data model
(``citeline.core``), so ``from citeline.pipeline import CitationChecker, Document`` works.
Importing this is cheap: models load on first use."""

from citeline.core import *  # noqa: F403 - the data model, re-exported
from citeline.core import __all__ as _DATA_MODEL
from citeline.core.claims import ClaimSplitter  # noqa: F401 - re-exported
from citeline.core.sentences import RegexSentenceSplitter, SpacySentenceSplitter  # noqa: F401 - re-exported
from citeline.pipeline.check import CheckRequest, CitationChecker  # noqa: F401 - re-exported

__all__ = sorted([*_DATA_MODEL, "CheckRequest", "CitationChecker", "ClaimSplitter", "RegexSentenceSplitter",
                  "SpacySentenceSplitter"])
