"""Small helpers every backend shares: request checks, stop strings, message conversion."""

from __future__ import annotations

from typing import Any, Sequence

from citeline.core.generation import GenerationRequest
from citeline.llm import structured


def check_request(request: GenerationRequest, index: int) -> None:
    """Reject a malformed request up front, naming it, instead of failing deep in an engine."""
    where = f"request {index}"
    if bool(request.messages) == (request.prompt is not None):
        raise ValueError(f"{where}: set exactly one of messages (chat) or prompt (completion)")
    if request.n < 1:
        raise ValueError(f"{where}: n must be at least 1, got {request.n}")
    if request.max_tokens < 1:
        raise ValueError(f"{where}: max_tokens must be at least 1, got {request.max_tokens}")
    if request.temperature < 0:
        raise ValueError(f"{where}: temperature must be >= 0, got {request.temperature}")
    if request.logprobs is not None and request.logprobs < 0:
        raise ValueError(f"{where}: logprobs must be >= 0, got {request.logprobs}")
    if request.structured is not None:
        structured.kind(request.structured)


def check_requests(requests: Sequence[GenerationRequest]) -> None:
    for index, request in enumerate(requests):
        check_request(request, index)


def chat_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    return [{"role": m.role, "content": m.content} for m in request.messages]


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to (not including) the first stop string, and whether one was found."""
    cuts = [text.find(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def engine_n(request: GenerationRequest) -> int:
    """Samples to ask the engine for: greedy decoding yields n identical texts, and vLLM refuses
    n > 1 at temperature 0, so every backend asks once and repeats the completion."""
    return request.n if request.temperature > 0 else 1


def repeat_to_n(completions: tuple, request: GenerationRequest) -> tuple:
    return completions * (request.n // len(completions)) if len(completions) == 1 else completions
