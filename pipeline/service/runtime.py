"""What a running server holds: its settings, its shared stages, admission control and metrics.

Admission: at most ``max_concurrency`` requests are worked on at once (one worker thread each)
and at most ``max_queue`` more wait for a thread; any request beyond that is refused at once with
429 and ``Retry-After`` (backpressure, never an unbounded queue). A request that runs past
``timeout`` gets 504; its thread cannot be interrupted, so its slot is freed only when the thread
finishes, and the limit stays true.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hmac
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from citeline.core.protocols import warm_up
from citeline.pipeline.service.batching import MicroBatchVerifier, Serialised

API_KEYS_ENV = "CITELINE_API_KEYS"  # comma-separated keys the server accepts


@dataclass(frozen=True)
class ServiceConfig:
    max_concurrency: int = 8  # requests worked on at once
    max_queue: int = 32  # admitted requests waiting for a worker; more get 429
    timeout: float = 60.0  # seconds per request (upstream call and citeline's work, each)
    max_body_bytes: int = 1_000_000
    max_answer_chars: int = 20_000
    max_sources: int = 100
    batching: bool = True
    batch_max_pairs: int = 256
    batch_wait: float = 0.005  # seconds the verifier's worker waits for more pairs after the first
    api_keys: tuple[str, ...] = field(default=(), repr=False)  # never printed or logged
    upstream: str | None = None  # the OpenAI-compatible server /v1/chat/completions forwards to
    upstream_api_key: str | None = field(default=None, repr=False)
    index_k: int = 5  # passages taken from the server's index per request
    trim_interval: float = 5.0  # seconds between returns of freed memory to the OS (0: never)

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "max_body_bytes", "max_answer_chars", "max_sources", "batch_max_pairs",
                     "index_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_queue < 0 or self.timeout <= 0 or self.batch_wait < 0 or self.trim_interval < 0:
            raise ValueError("max_queue, batch_wait and trim_interval must be at least 0, and timeout above 0")


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}`` (OpenAI's shape)."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def busy(what: str) -> ApiError:
    return ApiError(429, "server_busy", f"the server is at its limit of {what}: retry after a moment",
                    headers={"Retry-After": "1"})


def key_matches(given: str, keys: tuple[str, ...]) -> bool:
    """Constant-time: every key is compared in full, whichever matches."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8"))
    return found


def read_api_keys(path: str | None, environ: dict[str, str]) -> tuple[str, ...]:
    """Keys from ``$CITELINE_API_KEYS`` (comma-separated) and a file (one per line, # comments)."""
    keys = [k.strip() for k in environ.get(API_KEYS_ENV, "").split(",")]
    if path:
        with open(path, encoding="utf-8") as handle:
            keys += [line.strip() for line in handle if not line.lstrip().startswith("#")]
    return tuple(k for k in dict.fromkeys(keys) if k)


class Ticket:
    """One admitted request; ``running`` is the worker thread's future while it has one."""

    __slots__ = ("running",)

    def __init__(self) -> None:
        self.running: Future | None = None


class Admission:
    def __init__(self, workers: int, waiting: int) -> None:
        self.capacity = workers + waiting
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citeline-request")
        self.admitted = 0
        self.running = 0
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return max(0, self.admitted - self.running)

    def enter(self) -> Ticket:
        with self._lock:
            if self.admitted >= self.capacity:
                raise busy(f"{self.capacity} requests")
            self.admitted += 1
        return Ticket()

    def leave(self, ticket: Ticket) -> None:
        future, ticket.running = ticket.running, None
        if future is not None and not future.done():
            future.add_done_callback(lambda _: self._release())
        else:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self.admitted -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Ticket]:
        ticket = self.enter()
        try:
            yield ticket
        finally:
            self.leave(ticket)

    async def call(self, ticket: Ticket, timeout: float, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on a worker thread, within ``timeout`` seconds (else 504)."""
        future = self.executor.submit(self._counted, function, *args)
        ticket.running = future
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            future.cancel()  # frees the slot now if it never started; else when the thread ends
            raise ApiError(504, "timeout", f"the request took longer than the server's limit of {timeout:g} s") \
                from None

    def _counted(self, function: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            self.running += 1
        try:
            return function(*args)
        finally:
            with self._lock:
                self.running -= 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Metrics:
    """Prometheus text at ``/metrics``: requests, latency, rejections, queue depths, verifier batches."""

    def __init__(self, service: Service) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, cpu seconds, open fds
        self.requests = Counter("citeline_requests", "HTTP requests answered", ["path", "status"],
                                registry=self.registry)
        self.latency = Histogram("citeline_request_seconds", "seconds from request to the end of the response",
                                 ["path"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.errors = Counter("citeline_errors", "error responses by code", ["code"], registry=self.registry)
        Gauge("citeline_queue_depth", "admitted requests waiting for a worker thread",
              registry=self.registry).set_function(lambda: service.admission.waiting)
        Gauge("citeline_in_flight", "requests being worked on", registry=self.registry) \
            .set_function(lambda: service.admission.running)
        Gauge("citeline_verifier_queue_pairs", "claim-evidence pairs waiting for the verifier",
              registry=self.registry).set_function(lambda: service.verifier.waiting_pairs)
        Gauge("citeline_ready", "1 once the models are loaded", registry=self.registry) \
            .set_function(lambda: float(service.ready))
        self.batch_requests = Histogram("citeline_verifier_batch_requests", "requests sharing one verifier batch",
                                        registry=self.registry, buckets=(1, 2, 4, 8, 16, 32, 64))
        self.batch_pairs = Histogram("citeline_verifier_batch_pairs", "distinct pairs per verifier batch",
                                     registry=self.registry, buckets=(1, 8, 32, 64, 128, 256, 512, 1024))
        self.batch_seconds = Histogram("citeline_verifier_batch_seconds", "seconds per verifier batch",
                                       registry=self.registry)

    def batch(self, requests: int, pairs: int, seconds: float) -> None:
        self.batch_requests.observe(requests)
        self.batch_pairs.observe(pairs)
        self.batch_seconds.observe(seconds)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class FreedMemoryReturner:
    """Every ``interval`` seconds, hands memory that was freed back to the OS (glibc only).

    glibc keeps freed blocks in per-thread arenas; under a server's ever-changing tensor and
    document sizes they fragment, and the resident set climbs while live memory does not
    (measured in-process: 1.55 GB resident, 1.04 GB after one ``malloc_trim``). ONNX Runtime's
    arenas are asked to give back what their largest batches left them, too.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._trim = self._glibc_trim() if interval > 0 else None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _glibc_trim() -> Callable[[int], int] | None:
        try:
            return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
            return None

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="citeline-memory", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        from citeline.verifiers.runtime import shrink_arenas

        while not self._stop.wait(self.interval):
            shrink_arenas()  # ONNX Runtime's
            if self._trim is not None:
                self._trim(0)  # ctypes releases the GIL during the call

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Service:
    """The stages a server shares between requests, loaded once by ``start()``.

    ``verifier`` and ``splitter`` are stage objects (the command line builds them from names);
    ``llm`` (RARR's model) and ``index`` (a retriever over the server's corpus) are optional.
    """

    def __init__(self, verifier: Any, splitter: Any, config: ServiceConfig = ServiceConfig(), *, llm: Any = None,
                 index: Any = None, llm_concurrency: int = 1) -> None:
        self.config = config
        self.metrics: Metrics | None = None
        self.verifier = MicroBatchVerifier(verifier, config.batch_max_pairs, config.batch_wait, config.batching,
                                           on_batch=self._on_batch)
        self.splitter = Serialised(splitter, "split", "split_many")
        self.llm = None if llm is None else Serialised(llm, "generate") if llm_concurrency == 1 else llm
        self.index = None if index is None else Serialised(index, "search", "search_batch")
        self.admission = Admission(config.max_concurrency, config.max_queue)
        self.metrics = Metrics(self)
        self.memory = FreedMemoryReturner(config.trim_interval)
        self.ready = False
        self.load_error: str | None = None
        self.started_at = time.time()

    def _on_batch(self, requests: int, pairs: int, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.batch(requests, pairs, seconds)

    def start(self) -> Service:
        """Load the models now (raises what loading raises); ``/readyz`` answers 200 after it."""
        try:
            self.verifier.warm_up()
            warm_up(self.splitter._stage)
            self.verifier.start()
            self.memory.start()
        except Exception as error:
            self.load_error = f"{type(error).__name__}: {error}"
            raise
        self.ready = True
        return self

    def close(self) -> None:
        self.verifier.close()
        self.memory.close()
        self.admission.close()
