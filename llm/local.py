"""A local transformers model: the backend that works on any CPU machine, with no server.

Requests that share sampling settings run as one left-padded batch. Structured output:
``choice`` is exact (each option is scored by the model and the best, or a sample, is returned);
``regex`` is enforced while decoding (a token is allowed only if the text stays a prefix of a
match); ``json_schema`` is generated, validated and re-sampled a bounded number of times, then a
StructuredOutputError says so. Nothing is ever returned unconstrained.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from citeline.core.generation import (
    Completion,
    GenerationRequest,
    GenerationResult,
    StructuredOutputError,
    TokenLogprob,
)
from citeline.llm import structured
from citeline.llm.common import chat_messages, check_requests, cut_at_stop

ENGINE = "transformers"
SCAN_LIMIT = 2000  # candidates checked per step once one allowed token is found
RETRY_TEMPERATURE = 0.8  # re-samples after a failed regex/JSON check need some randomness


class TransformersLLM:
    """``TransformersLLM()`` runs the default SmolLM2 model; pass ``model`` for any causal LM folder."""

    def __init__(self, model: str | Path | None = None, device: str = "cpu", batch_size: int = 8,
                 structured_retries: int = 4) -> None:
        self.model_path = str(model) if model else None
        self.device = device
        self.batch_size = batch_size
        self.structured_retries = structured_retries
        self.name = ENGINE
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name if self.model_path else "SmolLM2-135M-Instruct"

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        from citeline.core.paths import hub_model_options

        hub = hub_model_options(self.model_path, "generation model") if self.model_path else {}
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.model_path is None:
            from citeline.llm.smollm2 import ensure_model

            self.model_path = str(ensure_model())
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_path, **hub)
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=torch.float32, **hub)
        self._model = model.to(self.device).eval()

    # -- public -------------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        check_requests(requests)
        self._load()
        results: list[GenerationResult | None] = [None] * len(requests)
        plain = [i for i, r in enumerate(requests) if r.structured is None]
        for group in _groups(plain, requests):
            for start in range(0, len(group), self.batch_size):
                chunk = group[start:start + self.batch_size]
                outputs = self._sample([requests[i] for i in chunk])
                for i, completions in zip(chunk, outputs):
                    results[i] = self._result(completions)
        for i, request in enumerate(requests):
            if request.structured is not None:
                results[i] = self._result(self._constrained(request))
        return [r for r in results if r is not None]

    def _result(self, completions: list[Completion]) -> GenerationResult:
        return GenerationResult(tuple(completions), engine=ENGINE, model=self.model_name)

    # -- plain sampling -----------------------------------------------------------------------

    def _prompt_text(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        return self._tokenizer.apply_chat_template(chat_messages(request), tokenize=False,
                                                   add_generation_prompt=True)

    def _sample(self, batch: list[GenerationRequest], temperature: float | None = None,
                seed: int | None = None, regex: str | None = None) -> list[list[Completion]]:
        """One batch of requests that share sampling settings; n completions each."""
        import torch
        from transformers import GenerationConfig

        first = batch[0]
        temperature = first.temperature if temperature is None else temperature
        seed = first.seed if seed is None else seed
        tok = self._tokenizer
        copies = first.n if temperature > 0 else 1  # greedy decoding gives n identical texts: run once
        encoded = tok([self._prompt_text(r) for r in batch], return_tensors="pt", padding=True,
                      padding_side="left", add_special_tokens=False).to(self.device)
        config = GenerationConfig(
            max_new_tokens=first.max_tokens, do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            top_k=0 if temperature > 0 else None,  # sample from the full distribution, as vLLM does
            num_return_sequences=copies, pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id, return_dict_in_generate=True,
            output_logits=first.logprobs is not None,
        )
        processors = []
        if regex is not None:
            processors.append(_RegexMask(regex, tok, encoded["input_ids"].shape[1]))
        if seed is not None:
            torch.manual_seed(seed)
        with torch.no_grad():
            out = self._model.generate(**encoded, generation_config=config, logits_processor=processors)
        new_tokens = out.sequences[:, encoded["input_ids"].shape[1]:]
        logits = torch.stack(out.logits, dim=1) if first.logprobs is not None else None
        completions = [self._completion(new_tokens[row], None if logits is None else logits[row], first)
                       for row in range(new_tokens.shape[0])]
        per_request = [completions[i * copies:(i + 1) * copies] for i in range(len(batch))]
        return [group * (first.n // copies) for group in per_request]

    def _completion(self, tokens: Any, logits: Any, request: GenerationRequest) -> Completion:
        ids = tokens.tolist()
        eos = self._tokenizer.eos_token_id
        finish = "length"
        if eos in ids:
            ids, finish = ids[:ids.index(eos)], "stop"
        text, stopped = cut_at_stop(self._tokenizer.decode(ids, skip_special_tokens=True), request.stop)
        if stopped:
            finish = "stop"
        logprobs = None if logits is None else self._token_logprobs(ids, logits, request.logprobs)
        return Completion(text, finish_reason=finish, logprobs=logprobs)

    def _token_logprobs(self, ids: list[int], logits: Any, top: int) -> tuple[TokenLogprob, ...]:
        """Log-probabilities of the model's own distribution (before temperature), as vLLM reports."""
        import torch

        logprobs = torch.log_softmax(logits[:len(ids)].float(), dim=-1)
        items = []
        for step, token_id in enumerate(ids):
            alternatives = {}
            if top:
                values, indices = logprobs[step].topk(top)
                alternatives = {self._tokenizer.decode([int(i)]): float(v) for v, i in zip(values, indices)}
            items.append(TokenLogprob(self._tokenizer.decode([token_id]),
                                      float(logprobs[step, token_id]), alternatives))
        return tuple(items)

    # -- structured output --------------------------------------------------------------------

    def _constrained(self, request: GenerationRequest) -> list[Completion]:
        if structured.kind(request.structured) == "choice":
            return self._choose(request)
        return [self._validated(request, k) for k in range(request.n)]

    def _validated(self, request: GenerationRequest, sample: int) -> Completion:
        """Generate, check, and re-sample with fresh seeds until the text obeys the constraint."""
        reason = ""
        for attempt in range(self.structured_retries + 1):
            retrying = attempt > 0 or sample > 0
            temperature = max(request.temperature, RETRY_TEMPERATURE) if retrying else request.temperature
            seed = (request.seed or 0) + 1000 * sample + attempt
            one = GenerationRequest(request.messages, request.prompt, request.max_tokens, temperature,
                                    1, seed, request.stop, request.logprobs)
            completion = self._sample([one], temperature, seed, request.structured.regex)[0][0]
            reason = structured.problem(request.structured, completion.text) or ""
            if not reason:
                return completion
        raise StructuredOutputError(
            f"{ENGINE} ({self.model_name}) produced no output matching the "
            f"{structured.kind(request.structured)} constraint in {self.structured_retries + 1} "
            f"tries (last: {reason}). Raise max_tokens, use a larger model, or the vllm backend, "
            f"which enforces JSON schemas while decoding.")

    def _choose(self, request: GenerationRequest) -> list[Completion]:
        """Score every option as a full continuation (text + end of turn); pick or sample n."""
        import torch

        options = list(request.structured.choice)
        scores, steps = self._option_scores(self._prompt_text(request), options)
        generator = torch.Generator().manual_seed(request.seed or 0)
        picks = []
        for _ in range(request.n):
            if request.temperature > 0:
                weights = torch.softmax(torch.tensor(scores) / request.temperature, dim=0)
                picks.append(int(torch.multinomial(weights, 1, generator=generator)))
            else:
                picks.append(max(range(len(options)), key=lambda k: scores[k]))
        return [Completion(options[k], "stop", steps[k] if request.logprobs is not None else None)
                for k in picks]

    def _option_scores(self, prompt: str, options: list[str]) -> tuple[list[float], list[tuple]]:
        import torch

        tok = self._tokenizer
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        option_ids = [tok(o, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for o in options]
        rows = [prompt_ids + ids for ids in option_ids]
        width = max(len(r) for r in rows)
        input_ids = torch.tensor([[tok.pad_token_id] * (width - len(r)) + r for r in rows], device=self.device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self.device)
        with torch.no_grad():
            logits = self._model(input_ids=input_ids, attention_mask=mask).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        scores, steps = [], []
        for row, ids in enumerate(option_ids):
            positions = range(width - len(ids) - 1, width - 1)  # logits that predict each option token
            values = [float(logprobs[row, p, t]) for p, t in zip(positions, ids)]
            scores.append(sum(values) if not math.isnan(sum(values)) else -math.inf)
            steps.append(tuple(TokenLogprob(tok.decode([t]), v) for t, v in zip(ids[:-1], values)))
        return scores, steps


def _groups(indices: list[int], requests: Sequence[GenerationRequest]) -> list[list[int]]:
    """Requests that can share one ``generate`` call (same sampling settings), order kept."""
    groups: dict[tuple, list[int]] = {}
    for i in indices:
        r = requests[i]
        key = (r.max_tokens, r.temperature, r.n, r.seed, r.stop, r.logprobs)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


class _RegexMask:
    """Logits processor: only tokens that keep the generated text a prefix of a full match of
    ``pattern`` survive; end-of-text only once the text matches completely. Checks candidates in
    order of score and stops at the first ``keep`` allowed ones, so a step costs a few dozen
    partial matches, not one per vocabulary entry."""

    def __init__(self, pattern: str, tokenizer: Any, prompt_length: int, keep: int = 16) -> None:
        import regex  # a transformers dependency; its partial matching is what makes this cheap

        self.pattern = regex.compile(pattern)
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.keep = keep

    def _extends(self, text: str, token_id: int) -> bool:
        piece = self.tokenizer.decode([token_id], skip_special_tokens=True)
        return bool(piece) and self.pattern.fullmatch(text + piece, partial=True) is not None

    def _allowed(self, text: str, ranked: list[int]) -> list[int]:
        eos = self.tokenizer.eos_token_id
        allowed = [eos] if self.pattern.fullmatch(text) is not None else []
        for position, token_id in enumerate(ranked):
            if token_id != eos and self._extends(text, token_id):
                allowed.append(token_id)
            if len(allowed) >= self.keep or (allowed and position >= SCAN_LIMIT):
                break
        return allowed or [eos]  # a dead end (an inconsistent pattern): end the text

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        masked = torch.full_like(scores, -math.inf)
        for row in range(scores.shape[0]):
            text = self.tokenizer.decode(input_ids[row, self.prompt_length:], skip_special_tokens=True)
            allowed = self._allowed(text, torch.argsort(scores[row], descending=True).tolist())
            masked[row, allowed] = scores[row, allowed]
        return masked
