"""Cited generation: ask an LLM to answer from numbered sources with inline ``[n]`` citations.

The reply is untrusted text: it is cleaned of a leading "Answer:", split into claims with the
shared ClaimSplitter (citations resolved against the sources), and every citation that points at
no source is flagged, never dropped. An empty reply is retried once with sampling, then reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from citeline.core.generation import LLM, GenerationRequest
from citeline.core.types import Answer, Claim, Document
from citeline.prompts import Prompt, load_prompt
from citeline.prompts.answers import parse_text

RETRY_TEMPERATURE = 0.7


@dataclass(frozen=True)
class CitedAnswer:
    """An answer with its claims; ``problems`` lists bad citations and uncited claims in words."""

    answer: Answer
    documents: tuple[Document, ...]
    claims: tuple[Claim, ...]
    engine: str
    model: str
    problems: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)

    @property
    def invalid_citations(self) -> tuple[str, ...]:
        return tuple(i for c in self.claims for i in c.invalid_citations)

    def to_dict(self) -> dict:
        """The JSON that ``citeline generate --json`` prints and ``POST /v1/cite`` returns."""
        from citeline.core.types import to_dict

        return {"answer": self.answer.text, "question": self.answer.question, "engine": self.engine,
                "model": self.model, "claims": [to_dict(c) for c in self.claims],
                "sources": [to_dict(d) for d in self.documents], "problems": list(self.problems)}


def format_documents(documents: Sequence[Document]) -> str:
    """``Document [n] (Title: ...): text`` lines, numbered in citation order as in ALCE."""
    lines = []
    for number, document in enumerate(documents, 1):
        title = f" (Title: {document.title})" if document.title else ""
        lines.append(f"Document [{number}]{title}: {' '.join(document.text.split())}")
    return "\n".join(lines)


def clean_reply(text: str) -> str:
    """The answer without a leading "Answer:" (the cited_answer prompt's parser)."""
    return parse_text(text)


def problems_of(claims: Sequence[Claim], documents: Sequence[Document]) -> list[str]:
    problems = []
    for number, claim in enumerate(claims, 1):
        for bad in claim.invalid_citations:
            problems.append(f"claim {number} cites [{bad}]: there are {len(documents)} sources")
        if not claim.markers:
            problems.append(f"claim {number} has no citation: {claim.check_text[:60]!r}")
    return problems


class CitedAnswerer:
    """``CitedAnswerer(llm).answer(question, documents)``; any LLM backend, any ALCE-style prompt."""

    def __init__(self, llm: LLM, prompt: str = "cited_answer", claims=None, max_tokens: int = 300,
                 temperature: float = 0.0, seed: int | None = 0) -> None:
        self.llm = llm
        self.prompt_name = prompt
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self._claims = claims

    @property
    def prompt(self) -> Prompt:
        return load_prompt(self.prompt_name)

    def _splitter(self):
        if self._claims is None:
            from citeline.core.claims import ClaimSplitter
            from citeline.core.sentences import RegexSentenceSplitter

            self._claims = ClaimSplitter(RegexSentenceSplitter())
        return self._claims

    def _request(self, question: str, documents: Sequence[Document], temperature: float,
                 seed: int | None) -> GenerationRequest:
        return self.prompt.request(max_tokens=self.max_tokens, temperature=temperature, seed=seed,
                                   question=question, documents=format_documents(documents))

    def answer(self, question: str, documents: Sequence[Document]) -> CitedAnswer:
        return self.answer_many([(question, documents)])[0]

    def answer_many(self, items: Sequence[tuple[str, Sequence[Document]]]) -> list[CitedAnswer]:
        for question, documents in items:
            if not documents:
                raise ValueError(f"question {question!r} has no sources: cited generation needs at least one")
        requests = [self._request(q, d, self.temperature, self.seed) for q, d in items]
        results = self.llm.generate(requests)
        texts = [self.prompt.parse(r.completions[0].text) for r in results]
        empty = [i for i, text in enumerate(texts) if not text]
        if empty:  # one re-sample, in one batch, for the replies that came back empty
            seed = (self.seed or 0) + 1
            again = self.llm.generate([self._request(*items[i], RETRY_TEMPERATURE, seed) for i in empty])
            for i, result in zip(empty, again):
                texts[i], results[i] = self.prompt.parse(result.completions[0].text), result
        splits = self._splitter().split_many([(t, [d.id for d in docs]) for t, (_, docs) in zip(texts, items)])
        return [self._cited(text, question, tuple(docs), tuple(claims), result.engine, result.model)
                for text, (question, docs), claims, result in zip(texts, items, splits, results)]

    def _cited(self, text: str, question: str, documents: tuple[Document, ...], claims: tuple[Claim, ...],
               engine: str, model: str) -> CitedAnswer:
        problems = problems_of(claims, documents) if text else ["the model returned an empty answer"]
        answer = Answer(text, question, metadata={"engine": engine, "model": model})
        return CitedAnswer(answer, documents, claims, engine, model, tuple(problems))
