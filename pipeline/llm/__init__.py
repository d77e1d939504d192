from citeline.pipeline.llm.base import (
    LLM,
    Completion,
    GenerationRequest,
    GenerationResult,
    Message,
    StructuredOutput,
    TokenLogprob,
)
from citeline.pipeline.llm.scripted import ScriptedLLM

__all__ = ["LLM", "Completion", "GenerationRequest", "GenerationResult", "Message",
           "ScriptedLLM", "StructuredOutput", "TokenLogprob"]
