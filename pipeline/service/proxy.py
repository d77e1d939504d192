"""The OpenAI-compatible proxy: ``POST /v1/chat/completions`` forwarded to ``--upstream``.

The upstream's answer comes back unchanged, plus a ``citeline`` field: per choice, the citation
report of the message against the documents the request supplied (its ``citeline.documents``,
else vLLM's ``documents`` field, else the server's ``--index`` searched with the last user
message). ``citeline.mode``: ``annotate`` (default) only adds the report; ``cite`` also repairs
citations in the message (a claim its citations do not support is cited to the source that
does); ``revise`` also runs RARR on an answer with an unsupported claim and returns the revised
text. A streamed answer passes through as it comes; the report follows as one last chunk (with
``choices: []``, as OpenAI's usage chunk) before ``data: [DONE]``, and a changed text is in that
chunk only. An upstream error is passed through as it is; a failure of citeline's own work is
reported in the ``citeline`` field and never breaks the answer.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from citeline.core.types import Answer, Document
from citeline.pipeline.service.app import (_ready, check_requests, count_sources, documents_of,
                                           reviser, validation_error, work_errors)
from citeline.pipeline.service.runtime import ApiError, Service, Ticket
from citeline.pipeline.service.schemas import ProxyOptions

UPSTREAM_UNSET = ApiError(501, "no_upstream", "this server has no upstream: start it with --upstream "
                                              "http://HOST:PORT/v1 to use it as an OpenAI-compatible proxy")


def add_proxy_routes(app: FastAPI, service: Service) -> None:
    @app.post("/v1/chat/completions", summary="OpenAI-compatible chat completions, with a verified citation report",
              openapi_extra={"requestBody": {"content": {"application/json": {"example": {
                  "model": "my-model", "messages": [{"role": "user", "content": "What is the capital of France?"}],
                  "citeline": {"mode": "annotate", "documents": ["Paris is the capital of France."]}}}}}})
    async def chat_completions(request: Request) -> Response:
        body = await _body(request)
        options = _options(body)
        if not service.config.upstream:
            raise UPSTREAM_UNSET
        _ready(service)
        documents = _documents(service, options, body)
        ticket = service.admission.enter()
        try:
            upstream = await _send(app, service, request, body)
            if upstream.status_code != 200:
                return await _passed_through(upstream)
            if body.get("stream"):
                stream = _stream(service, ticket, upstream, options, documents, _query(body))
                ticket = None  # the stream gives the slot back when it ends
                return StreamingResponse(stream, media_type="text/event-stream")
            return await _annotated(service, ticket, upstream, options, documents, _query(body))
        finally:
            if ticket is not None:
                service.admission.leave(ticket)

    @app.get("/v1/models", summary="the upstream's model list, passed through")
    async def models(request: Request) -> Response:
        if not service.config.upstream:
            raise UPSTREAM_UNSET
        return await _passed_through(await _send(app, service, request, None, "GET", "/models"))


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON ({type(error).__name__})") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", f"the body must be a JSON object, not {type(body).__name__}", "body")
    if not isinstance(body.get("messages"), list):
        raise ApiError(400, "invalid_request", "'messages' must be a list of chat messages", "messages")
    return body


def _options(body: dict[str, Any]) -> ProxyOptions:
    """The ``citeline`` field, validated and removed (the upstream never sees it)."""
    try:
        options = ProxyOptions.model_validate(body.pop("citeline", None) or {})
    except ValidationError as error:
        problem = validation_error(error.errors())
        problem.param = f"citeline.{problem.param}" if problem.param else "citeline"
        problem.message = "citeline." + problem.message
        raise problem from None
    return options


def _documents(service: Service, options: ProxyOptions, body: dict[str, Any]) -> tuple[Document, ...]:
    if options.documents is not None:
        return documents_of(service, options.documents, "citeline.documents")
    given = body.get("documents")  # vLLM's own field, forwarded as it is
    if isinstance(given, list) and given:
        count_sources(service, given, "documents")
        from citeline.pipeline.records import RecordError, documents_from_json

        try:
            return documents_from_json(given)
        except RecordError as error:
            raise ApiError(400, error.kind, str(error), "documents") from None
    return ()


def _query(body: dict[str, Any]) -> str:
    """The last user message's text: the query for the server's index, and the report's question."""
    for message in reversed(body["messages"]):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content if isinstance(content, str) else ""
    return ""


async def _send(app: FastAPI, service: Service, request: Request, body: dict[str, Any] | None,
                method: str = "POST", path: str = "/chat/completions") -> Any:
    import httpx

    config = service.config
    headers = {"Accept": request.headers.get("accept", "application/json")}
    if config.upstream_api_key:
        headers["Authorization"] = f"Bearer {config.upstream_api_key}"
    elif not config.api_keys and "authorization" in request.headers:
        headers["Authorization"] = request.headers["authorization"]  # the client's own key, when it is not ours
    url = config.upstream.rstrip("/") + path
    client = app.state.http
    try:
        return await client.send(client.build_request(method, url, json=body, headers=headers), stream=True)
    except httpx.TimeoutException:
        raise ApiError(504, "upstream_timeout", f"the upstream did not answer within {config.timeout:g} s") from None
    except httpx.HTTPError as error:
        raise ApiError(502, "upstream_unreachable", f"cannot reach the upstream at {config.upstream} "
                                                    f"({type(error).__name__})") from None


async def _passed_through(upstream: Any) -> Response:
    try:
        content = await upstream.aread()
    finally:
        await upstream.aclose()
    return Response(content, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type", "application/json"))


async def _annotated(service: Service, ticket: Ticket, upstream: Any, options: ProxyOptions,
                     documents: tuple[Document, ...], query: str) -> Response:
    response = await _passed_through(upstream)
    try:
        data = json.loads(response.body)
        choices = data["choices"]
        texts = {int(c.get("index", i)): c["message"].get("content") for i, c in enumerate(choices)}
    except (ValueError, KeyError, TypeError, AttributeError):
        return response  # not a chat completion we can read: the upstream's answer as it is
    report = await _report(service, ticket, options, documents, query, texts)
    for choice in choices:
        entry = next((e for e in report.get("choices", ()) if e["index"] == choice.get("index")), None)
        if entry and "content" in entry:
            entry["original_content"], choice["message"]["content"] = choice["message"]["content"], entry["content"]
    data["citeline"] = report
    return JSONResponse(data)


async def _stream(service: Service, ticket: Ticket, upstream: Any, options: ProxyOptions,
                  documents: tuple[Document, ...], query: str) -> AsyncIterator[bytes]:
    texts: dict[int, str] = {}
    first: dict[str, Any] = {}
    done = False
    try:
        async for line in upstream.aiter_lines():
            if line.strip() == "data: [DONE]":
                done = True
                break
            yield (line + "\n").encode("utf-8")
            if line.startswith("data:"):
                _collect(line[5:], texts, first)
        report = await _report(service, ticket, options, documents, query, texts)
        last = {"id": first.get("id"), "object": "chat.completion.chunk", "created": first.get("created"),
                "model": first.get("model"), "choices": [], "citeline": report}
        yield f"data: {json.dumps(last, ensure_ascii=False)}\n\n".encode("utf-8")
        if done:
            yield b"data: [DONE]\n\n"
    finally:
        await upstream.aclose()
        service.admission.leave(ticket)


def _collect(data: str, texts: dict[int, str], first: dict[str, Any]) -> None:
    try:
        chunk = json.loads(data)
        for choice in chunk.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                index = int(choice.get("index", 0))
                texts[index] = texts.get(index, "") + content
    except (ValueError, TypeError, AttributeError):
        return
    if not first:
        first.update({k: chunk.get(k) for k in ("id", "created", "model")})


async def _report(service: Service, ticket: Ticket, options: ProxyOptions, documents: tuple[Document, ...],
                  query: str, texts: dict[int, Any]) -> dict[str, Any]:
    try:
        return await service.admission.call(ticket, service.config.timeout, work_errors(_verify), service,
                                             options, documents, query, texts)
    except ApiError as error:
        service.metrics.errors.labels(error.code).inc()
        return {"mode": options.mode, **error.body()}


def _verify(service: Service, options: ProxyOptions, documents: tuple[Document, ...], query: str,
            texts: dict[int, Any]) -> dict[str, Any]:
    """The ``citeline`` field (on a worker thread): a report per choice, and the mode's changes."""
    from citeline.pipeline.check import CheckRequest
    from citeline.pipeline.posthoc import passage_document, repair_citations
    from citeline.pipeline.records import checked_answer
    from citeline.pipeline.sources import RecordError, empty_source_warnings

    origin = "request"
    if not documents and service.index is not None and query.strip():
        found = [passage_document(h.passage) for h in service.index.search(query, service.config.index_k)]
        documents = tuple({d.id: d for d in found}.values())
        origin = "index"
    if not documents:
        raise ApiError(400, "no_documents", "no documents to check the answer against: send them in "
                                            "'citeline.documents' (or vLLM's 'documents'), or start the server "
                                            "with --index", "citeline.documents")
    entries, requests = [], []
    for index, text in sorted(texts.items()):
        entry: dict[str, Any] = {"index": index}
        entries.append(entry)
        try:
            warnings: list[str] = []
            answer = checked_answer(text, query, service.config.max_answer_chars, warnings)
        except RecordError as error:
            entry.update(report=None, problem=str(error))
            continue
        requests.append((entry, CheckRequest(answer, documents, str(index),
                                             tuple(warnings + empty_source_warnings(documents)))))
    reports = check_requests(service, [r for _, r in requests])
    for (entry, request), report in zip(requests, reports):
        entry["report"] = report.to_dict()
        if options.mode == "cite":
            text, changes = repair_citations(report)
            if changes:
                [repaired] = check_requests(service, [CheckRequest(Answer(text, query), documents, request.id)])
                entry.update(content=text, changes=changes, report=repaired.to_dict())
        elif options.mode == "revise" and _unsupported(report):
            if service.llm is None:
                entry["problem"] = "revise: this server has no LLM for RARR (start it with --backend)"
                continue
            index = service.index if origin == "index" else None
            revision = reviser(service, index, documents).revise(request.answer.text, request.id)
            entry.update(content=revision.revised, revision=revision.to_dict())
    return {"mode": options.mode, "documents_from": origin, "verifier": service.verifier.name,
            "documents": [{"id": d.id, "title": d.title} for d in documents], "choices": entries}


def _unsupported(report: Any) -> bool:
    return any(r.citations.recall < 1.0 for r in report.claims)
