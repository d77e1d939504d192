"""One place where RARR talks to the model: send a prompt file's request, count the call."""

from __future__ import annotations

from citeline.core.generation import LLM
from citeline.pipeline.rarr.results import RarrCounters
from citeline.prompts import Prompt


def ask(llm: LLM, prompt: Prompt, counters: RarrCounters, *, n: int = 1, temperature: float = 0.0,
        max_tokens: int = 128, seed: int | None = 0, stop: tuple[str, ...] = (), constrained: bool = False,
        **values: object) -> list[str]:
    """The model's ``n`` replies to ``prompt`` filled with ``values`` ("" where it gave none);
    ``constrained`` limits a reply to the prompt's choices.

    ``n`` samples are ``n`` requests with seeds ``seed, seed + 1, ...`` in one batch: every engine
    serves that, while not every engine supports ``GenerationRequest.n``.
    """
    requests = [prompt.request(max_tokens=max_tokens, temperature=temperature, stop=stop, constrained=constrained,
                               seed=None if seed is None else seed + i, **values) for i in range(n)]
    counters.llm_calls += n
    results = llm.generate(requests)
    return [result.completions[0].text or "" if result.completions else "" for result in results]
