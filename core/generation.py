"""One small interface to every generation engine (vLLM, OpenAI-compatible servers, local models).

The generation issue fleshes out the backends; these shapes are what other stages (RARR, the
LLM judge, cited generation) program against, so fields are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from citeline.core.errors import EnvironmentFailure


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class StructuredOutput:
    """Constrain the output; set exactly one field."""

    json_schema: dict[str, Any] | None = None
    regex: str | None = None
    choice: tuple[str, ...] | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """A chat request (``messages``) or a plain completion (``prompt``)."""

    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    n: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # how many top alternatives per generated token
    structured: StructuredOutput | None = None


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str = "stop"
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass(frozen=True)
class GenerationResult:
    completions: tuple[Completion, ...]  # n of them
    engine: str  # e.g. "vllm", "openai-http", "transformers", "scripted"
    model: str


@runtime_checkable
class LLM(Protocol):
    name: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """One result per request, in order."""
        ...


class LLMError(RuntimeError):
    """A generation engine failed: unreachable, too slow, or it answered something unusable."""


class StructuredOutputError(LLMError):
    """The engine could not (or did not) produce output matching the requested constraint."""


class EngineUnavailable(LLMError, EnvironmentFailure):
    """The engine cannot run here at all (not installed, no model, server unreachable): a batch
    run stops on it rather than failing every record."""


class UnsupportedRequest(LLMError):
    """The chosen engine cannot serve this kind of request; the message names an engine that can."""
