"""One place where RARR talks to the model: render a prompt file, send it, count the call."""

from __future__ import annotations

from citeline.core.generation import LLM, GenerationRequest, Message, StructuredOutput
from citeline.pipeline.rarr.results import RarrCounters
from citeline.prompts import Prompt


def ask(llm: LLM, prompt: Prompt, counters: RarrCounters, *, n: int = 1, temperature: float = 0.0,
        max_tokens: int = 128, seed: int | None = 0, stop: tuple[str, ...] = (),
        structured: StructuredOutput | None = None, **values: object) -> list[str]:
    """The model's ``n`` replies to ``prompt`` filled with ``values`` ("" where it gave none).

    ``n`` samples are ``n`` requests with seeds ``seed, seed + 1, ...`` in one batch: every engine
    serves that, while not every engine supports ``GenerationRequest.n``.
    """
    messages = prompt.render(**values)
    chat = all(role for role, _ in messages)
    requests = [GenerationRequest(messages=tuple(Message(role, text) for role, text in messages) if chat else (),
                                  prompt=None if chat else prompt.render_text(**values),
                                  max_tokens=max_tokens, temperature=temperature, n=1,
                                  seed=None if seed is None else seed + i, stop=stop, structured=structured)
                for i in range(n)]
    counters.llm_calls += n
    results = llm.generate(requests)
    return [result.completions[0].text or "" if result.completions else "" for result in results]
