"""The HTTP API (FastAPI): check, cite, revise, the OpenAI-compatible proxy, health and metrics.

Every error is JSON, ``{"error": {"message", "type", "param", "code"}}``, with ``param`` naming the
bad field where there is one. Sources are data: their text goes to the verifier and back into the
report, and nothing in them is read as an instruction, a header or a setting.
"""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from citeline.core.errors import EnvironmentFailure
from citeline.core.generation import LLMError
from citeline.core.types import Document
from citeline.pipeline.check import CheckRequest
from citeline.pipeline.service.runtime import ApiError, Service, key_matches
from citeline.pipeline.service.schemas import CheckBody, CiteBody, LocalizeBody, ReviseBody
from citeline.pipeline.sources import RecordError

OPEN_PATHS = {"/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"}
REPORT_EXAMPLE = {"answer": {"text": "Paris is the capital of France [1].", "question": "", "metadata": {}},
                  "documents": ["..."], "claims": ["..."], "verifier": "numeric+citeline:citeline-nli-minilm",
                  "metrics": {"claims": 1.0, "citation_recall": 1.0, "citation_precision": 1.0,
                              "uncited_claims": 0.0, "invalid_citations": 0.0, "support_rate": 1.0},
                  "id": "", "metadata": {}}


def error_response(service: Service, error: ApiError) -> JSONResponse:
    service.metrics.errors.labels(error.code).inc()
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def create_app(service: Service) -> FastAPI:
    """The ASGI app over ``service``; it loads the models in the background if ``service`` is not started."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import httpx

        if not service.ready and service.load_error is None:
            threading.Thread(target=_start_quietly, args=(service,), daemon=True).start()
        app.state.http = httpx.AsyncClient(timeout=service.config.timeout)
        try:
            yield
        finally:
            await app.state.http.aclose()
            service.close()

    app = FastAPI(title="citeline", lifespan=lifespan, version=_version(),
                  description="Check, cite and revise the citations of LLM answers; an OpenAI-compatible proxy "
                              "that adds a verified citation report to every chat completion.")
    app.state.service = service
    _add_error_handlers(app, service)
    _add_routes(app, service)
    from citeline.pipeline.service.proxy import add_proxy_routes

    add_proxy_routes(app, service)
    known = {route.path for route in app.routes}
    app.add_middleware(Guard, service=service, known_paths=known)
    return app


def _start_quietly(service: Service) -> None:
    try:
        service.start()
    except Exception:  # noqa: BLE001 - kept in service.load_error, which /readyz reports
        pass


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeline")
    except PackageNotFoundError:
        return "unknown"


# -- errors ---------------------------------------------------------------------------------------

def _add_error_handlers(app: FastAPI, service: Service) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(service, error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(service, validation_error(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(service, ApiError(error.status_code, code, str(error.detail)))

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:
        return error_response(service, ApiError(500, "internal_error", f"internal error ({type(error).__name__}); "
                                                                      f"the server logs have the details"))


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """400 naming each bad field (``sources.1.text``) and what is wrong with it."""
    broken = next((item for item in errors if item.get("type") == "json_invalid"), None)
    if broken is not None:
        where = [p for p in broken.get("loc", ()) if isinstance(p, int)]
        reason = (broken.get("ctx") or {}).get("error", "JSON decode error")
        return ApiError(400, "invalid_json", f"the body is not valid JSON: {reason}"
                                             f"{f' (at character {where[0]})' if where else ''}")
    parts, params = [], []
    for item in errors[:5]:
        location = [str(p) for p in item.get("loc", ()) if p != "body"]
        # a union's failed branches add the branch name to the location: keep the field's path
        location = [p for p in location if p not in ("str", "int", "Source", "list[union[str,Source]]")]
        param = ".".join(location) or "body"
        params.append(param)
        parts.append(f"{param}: {item.get('msg', 'invalid')}")
    return ApiError(400, "invalid_request", "; ".join(parts), params[0])


def record_error(error: RecordError) -> ApiError:
    status = 413 if error.kind == "too_large" else 400
    param = "answer" if error.kind in ("empty_answer", "too_large") else None
    return ApiError(status, error.kind, str(error), param)


# -- the guard: auth, body size, metrics ---------------------------------------------------------

def as_json(scope: dict) -> dict:
    """A request body is read as JSON whatever its Content-Type says (curl -d sends a form's)."""
    if scope["method"] != "POST":
        return scope
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


class Guard:
    """ASGI middleware in front of every route: API keys, the body size limit, and metrics."""

    def __init__(self, app: Any, service: Service, known_paths: set[str]) -> None:
        self.app = app
        self.service = service
        self.known_paths = known_paths

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.known_paths else "other"
        started, status = time.perf_counter(), [500]

        async def send_counted(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is None:
                receive, refusal = await self._bounded_body(scope, receive)
                scope = as_json(scope)
            if refusal is not None:
                await error_response(self.service, refusal)(scope, receive, send_counted)
            else:
                await self.app(scope, receive, send_counted)
        finally:
            metrics = self.service.metrics
            metrics.requests.labels(path, str(status[0])).inc()
            metrics.latency.labels(path).observe(time.perf_counter() - started)

    def _refusal(self, scope: dict) -> ApiError | None:
        keys = self.service.config.api_keys
        if not keys or scope["path"] in OPEN_PATHS:
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-api-key") or ""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
        if given and key_matches(given, keys):
            return None
        return ApiError(401, "unauthorized", "a valid API key is needed: send 'Authorization: Bearer KEY' "
                                             "or 'X-API-Key: KEY'", headers={"WWW-Authenticate": "Bearer"})

    async def _bounded_body(self, scope: dict, receive: Callable) -> tuple[Callable, ApiError | None]:
        """The body read whole, up to the limit (a larger one is refused before it is all read)."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return receive, None
        limit = self.service.config.max_body_bytes
        too_large = ApiError(413, "too_large", f"the request body is over the server's limit of {limit:,} bytes "
                                               f"(citeline serve --max-body-bytes)")
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length" and (not value.isdigit() or int(value) > limit):
                return receive, too_large if value.isdigit() else ApiError(400, "invalid_request",
                                                                           "bad Content-Length header")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return receive, too_large
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body, sent = b"".join(chunks), [False]

        async def replay() -> dict:
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, None


# -- the routes -----------------------------------------------------------------------------------

def _ready(service: Service) -> None:
    if not service.ready:
        detail = f": {service.load_error}" if service.load_error else ": the models are still loading"
        raise ApiError(503, "not_ready", f"the server is not ready{detail}", headers={"Retry-After": "5"})


async def run_work(service: Service, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` on a worker thread, within the concurrency limit and the timeout."""
    _ready(service)
    async with service.admission.slot() as ticket:
        return await service.admission.call(ticket, service.config.timeout, work_errors(function), *args)


def work_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with the failures of a workflow turned into API errors."""

    def run(*args: Any) -> Any:
        try:
            return function(*args)
        except ApiError:
            raise
        except RecordError as error:
            raise record_error(error) from None
        except EnvironmentFailure as error:
            raise ApiError(503, "environment_failure", str(error)) from None
        except LLMError as error:
            raise ApiError(502, "llm_error", str(error)) from None
        except ValueError as error:
            raise ApiError(400, "invalid_request", str(error)) from None

    return run


def documents_of(service: Service, sources: list[Any] | None, param: str) -> tuple[Document, ...]:
    """The request's sources as documents, within the server's limit on their number."""
    from citeline.pipeline.records import documents_from_json

    if sources is None:
        return ()
    count_sources(service, sources, param)
    try:
        return documents_from_json([s if isinstance(s, str) else s.model_dump() for s in sources])
    except RecordError as error:
        raise ApiError(400, error.kind, str(error), param) from None


def count_sources(service: Service, sources: list[Any] | None, param: str) -> None:
    limit = service.config.max_sources
    if sources is not None and len(sources) > limit:
        raise ApiError(413, "too_large", f"{len(sources)} sources, over the server's limit of {limit} "
                                         f"(citeline serve --max-sources)", param)


def check_request(service: Service, body: CheckBody) -> CheckRequest:
    from citeline.pipeline.records import request_from_record

    count_sources(service, body.sources, "sources")
    try:
        return request_from_record(body.model_dump(exclude={"check_every_source"}), "",
                                   service.config.max_answer_chars)
    except RecordError as error:
        raise record_error(error) from None


def check_requests(service: Service, requests: list[CheckRequest], every_source: bool = True) -> list[Any]:
    """Reports on ``requests`` with the shared verifier and splitter (run on a worker thread)."""
    from citeline.core.claims import ClaimSplitter
    from citeline.pipeline.check import CitationChecker

    checker = CitationChecker(service.verifier, ClaimSplitter(service.splitter), check_every_source=every_source)
    return checker.check_many(requests)


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


def _add_routes(app: FastAPI, service: Service) -> None:
    report = {200: {"description": "the report `citeline check --json` prints",
                    "content": {"application/json": {"example": REPORT_EXAMPLE}}}}

    @app.post("/v1/check", responses=report, summary="check an answer's citations against its sources")
    async def check(body: CheckBody) -> Response:
        request = check_request(service, body)
        [result] = await run_work(service, check_requests, service, [request], body.check_every_source)
        return _json(result.to_json())

    @app.post("/v1/cite", summary="post-hoc citation: cite an answer written without citations",
              responses={200: {"description": "what `citeline generate --answer ... --json` prints"}})
    async def cite(body: CiteBody) -> Response:
        from citeline.core.types import Answer
        from citeline.pipeline.records import checked_answer

        try:
            answer = checked_answer(body.answer, body.question or "", service.config.max_answer_chars, [])
        except RecordError as error:
            raise record_error(error) from None
        documents = documents_of(service, body.sources, "sources")
        retriever = _retriever(service, documents, "sources")

        def work() -> str:
            import json

            from citeline.pipeline.posthoc import PostHocCiter, sources_retriever

            citer = PostHocCiter(retriever or sources_retriever(documents), service.verifier)
            return json.dumps(citer.cite(Answer(answer.text, answer.question)).to_dict(), ensure_ascii=False)

        return _json(await run_work(service, work))

    @app.post("/v1/revise", summary="RARR: research the answer's claims and minimally edit what evidence contradicts",
              responses={200: {"description": "what `citeline revise --json` prints"}})
    async def revise(body: ReviseBody) -> Response:
        if not body.text.strip():
            raise ApiError(400, "empty_answer", "'text' is empty: there is nothing to revise", "text")
        if len(body.text) > service.config.max_answer_chars:
            raise ApiError(413, "too_large", f"the text has {len(body.text):,} characters, over the server's limit "
                                             f"of {service.config.max_answer_chars:,}", "text")
        documents = documents_of(service, body.documents, "documents")
        retriever = _retriever(service, documents, "documents")
        if service.llm is None:
            raise ApiError(501, "no_llm", "this server has no LLM for RARR: start it with --backend (and --base-url)")
        identifier = "" if body.id is None else str(body.id)
        return _json(await run_work(service, lambda: reviser(service, retriever, documents)
                                    .revise(body.text, identifier).to_json()))

    @app.post("/v1/localize", status_code=501, summary="span attribution (not implemented yet)",
              responses={501: {"description": "span localisation does not exist in citeline yet"}})
    async def localize(body: LocalizeBody) -> Response:
        raise ApiError(501, "not_implemented", "span localisation (which words of a source support a claim) is not "
                                               "implemented in citeline yet; /v1/check reports, per claim, the "
                                               "verifier's deciding window where the verifier gives one")

    @app.get("/healthz", summary="the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="the models are loaded")
    async def readyz() -> dict[str, Any]:
        _ready(service)
        return {"status": "ready", "verifier": service.verifier.name, "batching": service.config.batching,
                "upstream": bool(service.config.upstream), "index": service.index is not None}

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(service.metrics.text(), media_type=CONTENT_TYPE_LATEST)


def _retriever(service: Service, documents: tuple[Document, ...], param: str) -> Any:
    """None when the request brings documents (a per-request index is built), else the server's index."""
    if documents:
        return None
    if service.index is None:
        raise ApiError(400, "missing_field", f"no '{param}': give the documents, or start the server with --index",
                       param)
    return service.index


def reviser(service: Service, retriever: Any, documents: tuple[Document, ...]) -> Any:
    """RARR with the server's LLM and verifier, researching ``retriever`` or else ``documents``."""
    from citeline.pipeline.rarr import RarrConfig, Reviser
    from citeline.pipeline.rarr.corpus import research_index

    retriever = retriever or research_index(documents, service.splitter)
    return Reviser(service.llm, retriever, service.verifier, RarrConfig(), sentences=service.splitter)
