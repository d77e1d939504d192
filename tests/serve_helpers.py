"""A real ``citeline serve`` on 127.0.0.1 (a free port, always stopped) and a stub upstream.

The stub is a real OpenAI-compatible HTTP server (standard library) that answers every chat
completion with ``StubUpstream.content``, streamed as server-sent events when asked, and keeps
each request it got. Model ``slow`` waits ``delay`` seconds first; model ``bad`` gets a 400.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx

ANSWER = "Paris is the capital of France [1]. Berlin is in Spain [2]."
SOURCES = ["Paris is the capital and largest city of France.", "Berlin is the capital of Germany."]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StubUpstream:
    def __init__(self) -> None:
        self.content = ANSWER
        self.delay = 2.0
        self.requests: list[dict] = []
        self.extra: dict = {}  # merged into every non-streamed response
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"body": body, "headers": dict(self.headers)})
                if body.get("model") == "bad":
                    return self._json(400, {"error": {"message": "no such model", "type": "invalid_request_error"}})
                if body.get("model") == "slow":
                    time.sleep(stub.delay)
                if body.get("stream"):
                    return self._stream(body)
                self._json(200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1,
                                 "model": body.get("model"), "usage": {"prompt_tokens": 3, "completion_tokens": 9},
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": stub.content}}],
                                 **stub.extra})

            def _stream(self, body: dict) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in stub.events(body.get("model")):
                    self.wfile.write(event.encode())
                    self.wfile.flush()

            def _json(self, status: int, value: dict) -> None:
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def events(self, model: str | None) -> list[str]:
        """The SSE events of a streamed answer: the content in three pieces, a stop, [DONE]."""
        cut = len(self.content) // 3
        pieces = [self.content[:cut], self.content[cut:2 * cut], self.content[2 * cut:]]
        chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": model}
        events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": p},
                                         "finish_reason": None}]} for p in pieces]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        return [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]

    def __enter__(self) -> StubUpstream:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_server(*flags: str, env: dict | None = None, log: Path | None = None,
                   ready_within: float = 120.0) -> Iterator[str]:
    """``citeline serve FLAGS`` as a subprocess on a free port; yields its base URL; always stopped."""
    import os

    port = free_port()
    command = [sys.executable, "-m", "citeline.pipeline.cli", "serve", "--port", str(port), "--quiet", *flags]
    out = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"citeline serve exited with status {process.returncode}"
                                   + (f": {Path(log).read_text()}" if log else ""))
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"citeline serve was not ready within {ready_within:g} s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()
