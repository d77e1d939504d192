"""Any OpenAI-compatible HTTP server (``vllm serve`` first; also llama.cpp, TGI, SGLang, OpenAI).

Requests in a batch go out concurrently (at most ``concurrency`` at once). Each call has a
timeout; connection failures, timeouts, 429 and 5xx answers are retried with exponential
back-off a bounded number of times; any other error, or an answer that is not the documented
JSON, raises an LLMError that names the server and what it sent.

Structured output: ``structured="vllm"`` (default) sends vLLM's ``structured_outputs`` field
(choice, regex, JSON schema); ``structured="response_format"`` sends OpenAI's ``response_format``
with a JSON schema (choice and regex are then refused up front). Either way the answer is checked,
because a server that does not know a field ignores it silently.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from citeline.core.generation import (
    Completion,
    EngineUnavailable,
    GenerationRequest,
    GenerationResult,
    LLMError,
    TokenLogprob,
    UnsupportedRequest,
)
from citeline.llm import structured
from citeline.llm.common import chat_messages, check_requests, engine_n, repeat_to_n

ENGINE = "openai-http"
RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class OpenAICompatibleLLM:
    """``OpenAICompatibleLLM("http://127.0.0.1:8000/v1")``; ``model`` defaults to the server's first."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str | None = None,
                 api_key: str | None = None, timeout: float = 60.0, max_retries: int = 2,
                 backoff: float = 0.5, concurrency: int = 8, structured: str = "vllm") -> None:
        if structured not in ("vllm", "response_format"):
            raise ValueError(f"structured must be 'vllm' or 'response_format', not {structured!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.structured_mode = structured
        self.name = ENGINE
        self._client: Any = None

    # -- transport ----------------------------------------------------------------------------

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.Client(timeout=self.timeout, headers=headers,
                                        limits=httpx.Limits(max_connections=self.concurrency))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One JSON call with bounded retries; raises LLMError with the server and the reason."""
        import httpx

        url = f"{self.base_url}{path}"
        reason, unreachable = "", False
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http().request(method, url, json=body)
            except httpx.TimeoutException:
                reason, unreachable = f"no answer within {self.timeout:g} s (raise timeout= for slow servers)", False
                continue
            except httpx.TransportError as error:
                reason, unreachable = f"cannot connect ({type(error).__name__}: {error}); is the server running?", True
                continue
            unreachable = False
            if response.status_code in RETRY_STATUS:
                reason = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                raise LLMError(f"{url} refused the request: HTTP {response.status_code}: "
                               f"{response.text[:300]}")
            return _json_object(response.text, url)
        failure = EngineUnavailable if unreachable else LLMError
        raise failure(f"{url} failed after {self.max_retries + 1} tries: {reason}")

    def _model_name(self) -> str:
        if self.model is None:
            listing = self._call("GET", "/models")
            try:
                self.model = listing["data"][0]["id"]
            except (KeyError, IndexError, TypeError):
                raise LLMError(f"{self.base_url}/models lists no model; pass model=...") from None
        return self.model

    # -- public -------------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        check_requests(requests)
        for index, request in enumerate(requests):
            self._check_supported(request, index)
        model = self._model_name()
        if len(requests) <= 1:
            return [self._one(r, model) for r in requests]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda r: self._one(r, model), requests))

    def _check_supported(self, request: GenerationRequest, index: int) -> None:
        if (request.structured is not None and self.structured_mode == "response_format"
                and structured.kind(request.structured) != "json"):
            raise UnsupportedRequest(
                f"request {index}: response_format only carries a JSON schema; for "
                f"{structured.kind(request.structured)} use structured='vllm' with a vLLM server")

    def _one(self, request: GenerationRequest, model: str) -> GenerationResult:
        chat = bool(request.messages)
        path = "/chat/completions" if chat else "/completions"
        answer = self._call("POST", path, self._body(request, model, chat))
        completions = _completions(answer, chat, f"{self.base_url}{path}")
        if len(completions) != engine_n(request):
            raise LLMError(f"{self.base_url}{path} returned {len(completions)} choices for n={engine_n(request)}")
        completions = repeat_to_n(tuple(completions), request)
        for c in completions:
            structured.check(request.structured, c.text, f"{self.base_url} ({model})")
        return GenerationResult(tuple(completions), engine=ENGINE, model=str(answer.get("model") or model))

    def _body(self, request: GenerationRequest, model: str, chat: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens,
                                "temperature": request.temperature, "n": engine_n(request)}
        if chat:
            body["messages"] = chat_messages(request)
        else:
            body["prompt"] = request.prompt
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        if request.logprobs is not None:
            if chat:
                body.update(logprobs=True, top_logprobs=request.logprobs)
            else:
                body["logprobs"] = request.logprobs
        if request.structured is not None:
            body.update(self._constraint(request))
        return body

    def _constraint(self, request: GenerationRequest) -> dict[str, Any]:
        if self.structured_mode == "vllm":
            # What the OpenAI client sends for extra_body={"structured_outputs": ...}.
            return {"structured_outputs": structured.vllm_fields(request.structured)}
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": "output", "schema": request.structured.json_schema, "strict": True}}}


def _json_object(text: str, url: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise LLMError(f"{url} answered with something that is not JSON: {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise LLMError(f"{url} answered JSON that is not an object: {text[:200]!r}")
    return value


def _completions(answer: dict[str, Any], chat: bool, url: str) -> list[Completion]:
    try:
        choices = sorted(answer["choices"], key=lambda c: c.get("index", 0))
        return [_completion(choice, chat) for choice in choices]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise LLMError(f"{url} answered JSON without the expected choices "
                       f"({type(error).__name__}: {error}): {json.dumps(answer)[:200]}") from None


def _completion(choice: dict[str, Any], chat: bool) -> Completion:
    text = choice["message"]["content"] if chat else choice["text"]
    if not isinstance(text, str):
        raise ValueError(f"choice text is {type(text).__name__}, not a string")
    logprobs = _chat_logprobs(choice) if chat else _completion_logprobs(choice)
    return Completion(text, finish_reason=choice.get("finish_reason") or "stop", logprobs=logprobs)


def _chat_logprobs(choice: dict[str, Any]) -> tuple[TokenLogprob, ...] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if content is None:
        return None
    return tuple(TokenLogprob(item["token"], float(item["logprob"]),
                              {t["token"]: float(t["logprob"]) for t in item.get("top_logprobs") or []})
                 for item in content)


def _completion_logprobs(choice: dict[str, Any]) -> tuple[TokenLogprob, ...] | None:
    logprobs = choice.get("logprobs")
    if not logprobs or logprobs.get("tokens") is None:
        return None
    tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
    return tuple(TokenLogprob(token, float(value), {k: float(v) for k, v in (top or {}).items()})
                 for token, value, top in zip(logprobs["tokens"], logprobs["token_logprobs"], tops))
