"""A scripted LLM for tests and dry runs: answers come from a list or a function, no model."""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from citeline.core.generation import Completion, GenerationRequest, GenerationResult


class ScriptedLLM:
    """Replies with ``replies`` in turn (cycling), or with ``reply(request)`` when it is a function."""

    def __init__(self, replies: Iterable[str] | Callable[[GenerationRequest], str]) -> None:
        self._reply = replies if callable(replies) else None
        self._replies = [] if callable(replies) else list(replies)
        self._next = 0
        self.name = "scripted"
        self.requests: list[GenerationRequest] = []  # everything it was asked, for assertions

    def _one(self, request: GenerationRequest) -> str:
        if self._reply is not None:
            return self._reply(request)
        if not self._replies:
            raise ValueError("ScriptedLLM has no replies")
        text = self._replies[self._next % len(self._replies)]
        self._next += 1
        return text

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results = []
        for request in requests:
            self.requests.append(request)
            completions = tuple(Completion(self._one(request)) for _ in range(request.n))
            results.append(GenerationResult(completions, engine="scripted", model="scripted"))
        return results
