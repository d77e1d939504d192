"""Test doubles for RARR: a tiny in-memory retriever and a scripted LLM that answers by prompt kind."""

from __future__ import annotations

from typing import Callable, Sequence

from citeline.llm import GenerationRequest, ScriptedLLM
from citeline.core.types import Document, Hit
from citeline.verifiers.lexical import content_words


class MemoryRetriever:
    """Ranks whole documents by shared content words with the query."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = list(documents)
        self.name = "memory"
        self.queries: list[str] = []

    def search(self, query: str, k: int = 10) -> list[Hit]:
        self.queries.append(query)
        words = set(content_words(query))
        scored = [(len(words & set(content_words(d.text))), i) for i, d in enumerate(self.documents)]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:k]
        return [Hit(self.documents[i].passage(), float(score), self.name, rank)
                for rank, (score, i) in enumerate(ranked)]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        return [self.search(q, k) for q in queries]


def prompt_kind(request: GenerationRequest) -> str:
    system = request.messages[0].content if request.messages else ""
    if "searches you would run" in system:
        return "questions"
    if "compare what someone said" in system:
        return "gate"
    if "fix what someone said" in system:
        return "edit"
    raise AssertionError(f"unexpected prompt: {system[:80]!r}")


def rarr_llm(questions: str | Callable[[GenerationRequest], str], gate: str | Callable[[GenerationRequest], str],
             edit: str | Callable[[GenerationRequest], str]) -> ScriptedLLM:
    """A ScriptedLLM replying ``questions``/``gate``/``edit`` (strings or functions of the request)."""
    replies = {"questions": questions, "gate": gate, "edit": edit}

    def reply(request: GenerationRequest) -> str:
        answer = replies[prompt_kind(request)]
        return answer(request) if callable(answer) else answer

    return ScriptedLLM(reply)


def last_user(request: GenerationRequest) -> str:
    return request.messages[-1].content
