"""Build a backend by name: what the CLI and config files use. Code can construct classes directly."""

from __future__ import annotations

from typing import Any

from citeline.core.generation import LLM

BACKENDS = ("local", "vllm", "openai")


def load_llm(backend: str = "local", model: str | None = None, base_url: str | None = None,
             **options: Any) -> LLM:
    """``local``: transformers on this machine (default SmolLM2); ``vllm``: vLLM in-process;
    ``openai``: an OpenAI-compatible server at ``base_url`` (e.g. ``vllm serve``)."""
    if backend == "local":
        from citeline.llm.local import TransformersLLM

        return TransformersLLM(model, **options)
    if backend == "vllm":
        from citeline.llm.vllm_offline import VLLMOffline

        return VLLMOffline(model, **options)
    if backend == "openai":
        from citeline.llm.openai_http import OpenAICompatibleLLM

        if not base_url:
            raise ValueError("the openai backend needs base_url, e.g. http://127.0.0.1:8000/v1")
        return OpenAICompatibleLLM(base_url, model, **options)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
