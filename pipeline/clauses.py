"""Clause-structured answers (FinLFQA): text, evidence ids per company, code and knowledge ids.

``ClauseAnswerer(llm).answer_many(items)`` asks any LLM backend with the ``finlfqa_answer``
prompt, reads every reply with that prompt's strict parser (``parse_clauses``), and re-asks a
reply that does not parse up to ``retries`` times (sampled, new seed). Nothing is dropped: each
item gets a ``ClauseAnswer`` that records how many tries it took and why each failed try failed;
one that never parsed has no clauses (``ok`` is False), and the caller counts it.

Structured output (``structured``): "schema" sends the reply's JSON schema (the evidence object
names exactly the item's companies), "regex" a regular expression every match of which is such
a reply (enforced while decoding by the local transformers backend and by vLLM), "none" relies
on the prompt alone; "auto" is regex for the local backend and schema for the others. The reply
is parsed strictly either way, since a server may ignore the constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from citeline.core.generation import LLM, EngineUnavailable, GenerationRequest, LLMError, StructuredOutput
from citeline.prompts import Prompt, load_prompt
from citeline.prompts.answers import clauses_regex, clauses_schema

RETRY_TEMPERATURE = 0.7
STRUCTURED_MODES = ("auto", "schema", "regex", "none")
REGEX_ENGINES = ("transformers",)  # engines that enforce a regex while decoding, cheaply


@dataclass(frozen=True)
class ClauseQuestion:
    question: str
    context: dict[str, list[str]]  # company -> paragraphs; ids are 1-based
    knowledge: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClauseAnswer:
    clauses: tuple[dict[str, Any], ...]  # parsed {"text", "evidence", "code", "knowledge"}; () if none parsed
    attempts: int
    failures: tuple[str, ...]  # why each failed try failed, in order
    reply: str  # the last reply
    engine: str = ""
    model: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.clauses)


def format_context(context: dict[str, list[str]]) -> str:
    """``Paragraphs of COMPANY:`` then ``[n] paragraph`` lines, per company."""
    return "\n\n".join(f"Paragraphs of {company}:\n" + "\n".join(f"[{n}] {p.strip()}" for n, p in enumerate(ps, 1))
                       for company, ps in context.items())


def format_knowledge(knowledge: Sequence[str]) -> str:
    return "\n".join(f"[{n}] {k}" for n, k in enumerate(knowledge, 1)) if knowledge else "(none)"


class ClauseAnswerer:
    def __init__(self, llm: LLM, prompt: str = "finlfqa_answer", structured: str = "auto", retries: int = 2,
                 max_tokens: int = 400, seed: int = 0) -> None:
        if structured not in STRUCTURED_MODES:
            raise ValueError(f"structured must be one of {', '.join(STRUCTURED_MODES)}, not {structured!r}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.llm, self.prompt_name, self.retries = llm, prompt, retries
        self.structured, self.max_tokens, self.seed = structured, max_tokens, seed

    @property
    def prompt(self) -> Prompt:
        return load_prompt(self.prompt_name)

    def structured_mode(self) -> str:
        if self.structured != "auto":
            return self.structured
        return "regex" if getattr(self.llm, "name", "") in REGEX_ENGINES else "schema"

    def constraint(self, companies: Sequence[str]) -> StructuredOutput | None:
        mode = self.structured_mode()
        if mode == "schema":
            return StructuredOutput(json_schema=clauses_schema(companies))
        return StructuredOutput(regex=clauses_regex(companies)) if mode == "regex" else None

    def request(self, item: ClauseQuestion, attempt: int) -> GenerationRequest:
        request = self.prompt.request(max_tokens=self.max_tokens, temperature=RETRY_TEMPERATURE if attempt else 0.0,
                                      seed=self.seed + attempt, question=item.question,
                                      context=format_context(item.context), knowledge=format_knowledge(item.knowledge))
        return replace(request, structured=self.constraint(list(item.context)))

    def answer_many(self, items: Sequence[ClauseQuestion]) -> list[ClauseAnswer]:
        state: list[dict[str, Any]] = [{"failures": [], "reply": "", "engine": "", "model": "", "clauses": None}
                                       for _ in items]
        todo = list(range(len(items)))
        for attempt in range(self.retries + 1):
            if not todo:
                break
            for index, (reply, engine, model, error) in zip(todo, self._generate([self.request(items[i], attempt)
                                                                                  for i in todo])):
                entry = state[index]
                entry.update(reply=reply, engine=engine or entry["engine"], model=model or entry["model"])
                clauses = None if error else self.prompt.parse(reply)
                if clauses is None:
                    entry["failures"].append(error or f"unparsed reply: {reply[:120]!r}")
                entry["clauses"] = clauses
            todo = [i for i in todo if state[i]["clauses"] is None]
        return [ClauseAnswer(tuple(s["clauses"] or ()), len(s["failures"]) + (s["clauses"] is not None),
                             tuple(s["failures"]), s["reply"], s["engine"], s["model"]) for s in state]

    def _generate(self, requests: list[GenerationRequest]) -> list[tuple[str, str, str, str]]:
        """(reply, engine, model, error) per request; a request the engine fails is that request's
        failed try (the batch is retried one by one to find it), except when the engine itself is
        unavailable, which stops the caller."""
        try:
            return [(r.completions[0].text, r.engine, r.model, "") for r in self.llm.generate(requests)]
        except EngineUnavailable:
            raise
        except LLMError as error:
            if len(requests) > 1:
                return [row for request in requests for row in self._generate([request])]
            return [("", "", "", f"{type(error).__name__}: {str(error)[:200]}")]
