from citeline.pipeline.llm.backends import BACKENDS, load_llm
from citeline.pipeline.llm.base import (
    LLM,
    Completion,
    GenerationRequest,
    GenerationResult,
    LLMError,
    Message,
    StructuredOutput,
    StructuredOutputError,
    TokenLogprob,
    UnsupportedRequest,
)
from citeline.pipeline.llm.scripted import ScriptedLLM

# The backends import their engines lazily, so importing them here costs nothing.
from citeline.pipeline.llm.local import TransformersLLM  # noqa: E402
from citeline.pipeline.llm.openai_http import OpenAICompatibleLLM  # noqa: E402
from citeline.pipeline.llm.vllm_offline import VLLMOffline  # noqa: E402

__all__ = ["BACKENDS", "LLM", "Completion", "GenerationRequest", "GenerationResult", "LLMError",
           "Message", "OpenAICompatibleLLM", "ScriptedLLM", "StructuredOutput", "StructuredOutputError",
           "TokenLogprob", "TransformersLLM", "UnsupportedRequest", "VLLMOffline", "load_llm"]
