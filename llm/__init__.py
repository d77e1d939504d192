from citeline.core.generation import (
    LLM,
    Completion,
    EngineUnavailable,
    GenerationRequest,
    GenerationResult,
    LLMError,
    Message,
    StructuredOutput,
    StructuredOutputError,
    TokenLogprob,
    UnsupportedRequest,
)
from citeline.llm.backends import BACKENDS, LLMS, load_llm

# The backends import their engines lazily, so importing them here costs nothing.
from citeline.llm.local import TransformersLLM  # noqa: E402
from citeline.llm.openai_http import OpenAICompatibleLLM  # noqa: E402
from citeline.llm.scripted import ScriptedLLM
from citeline.llm.vllm_offline import VLLMOffline  # noqa: E402

__all__ = ["BACKENDS", "LLM", "LLMS", "Completion", "EngineUnavailable", "GenerationRequest", "GenerationResult",
           "LLMError", "Message", "OpenAICompatibleLLM", "ScriptedLLM", "StructuredOutput", "StructuredOutputError",
           "TokenLogprob", "TransformersLLM", "UnsupportedRequest", "VLLMOffline", "load_llm"]
