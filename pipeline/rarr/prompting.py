"""One place where RARR talks to the model: render a prompt file, send it, count the call."""

from __future__ import annotations

from citeline.pipeline.llm.base import LLM, GenerationRequest, Message
from citeline.pipeline.rarr.results import RarrCounters
from citeline.prompts import Prompt


def ask(llm: LLM, prompt: Prompt, counters: RarrCounters, *, n: int = 1, temperature: float = 0.0,
        max_tokens: int = 160, seed: int | None = 0, **values: object) -> list[str]:
    """The model's ``n`` replies to ``prompt`` filled with ``values`` (empty strings if it gave none)."""
    messages = prompt.render(**values)
    if all(role for role, _ in messages):
        request = GenerationRequest(messages=tuple(Message(role, text) for role, text in messages),
                                    max_tokens=max_tokens, temperature=temperature, n=n, seed=seed)
    else:  # a completion prompt
        request = GenerationRequest(prompt=prompt.render_text(**values), max_tokens=max_tokens,
                                    temperature=temperature, n=n, seed=seed)
    counters.llm_calls += 1
    [result] = llm.generate([request])
    texts = [completion.text or "" for completion in result.completions]
    return texts + [""] * (n - len(texts))
