"""The generation backends' old import path (``citeline.pipeline.llm``), kept so code written
against it still runs; they live in ``citeline.llm`` now, a stage beside retrievers and verifiers."""

from citeline.llm import *  # noqa: F403
from citeline.llm import __all__  # noqa: F401
