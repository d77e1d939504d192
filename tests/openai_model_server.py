"""A real OpenAI-compatible chat server on 127.0.0.1 in front of any citeline LLM backend (the
local SmolLM2 by default), for running commands "against a server" where vLLM is not installed.

It serves ``GET /v1/models`` and ``POST /v1/chat/completions`` with vLLM's ``structured_outputs``
field (regex, json, choice) passed on to the backend, so the local backend enforces a regex
while decoding exactly as it does in-process. Run it alone with
``python tests/openai_model_server.py PORT`` (Ctrl-C stops it).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from citeline.core.generation import GenerationRequest, LLMError, Message, StructuredOutput


class ModelServer:
    def __init__(self, llm: Any, port: int = 0, model: str = "SmolLM2-135M-Instruct") -> None:
        self.llm, self.model = llm, model
        self.lock = threading.Lock()  # one generation at a time, as one engine
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = body.get("structured_outputs") or {}
        structured = (StructuredOutput(regex=fields["regex"]) if "regex" in fields
                      else StructuredOutput(json_schema=fields["json"]) if "json" in fields
                      else StructuredOutput(choice=tuple(fields["choice"])) if "choice" in fields else None)
        request = GenerationRequest(messages=tuple(Message(m["role"], m["content"]) for m in body["messages"]),
                                    max_tokens=body.get("max_tokens", 256), temperature=body.get("temperature", 0.0),
                                    seed=body.get("seed"), structured=structured)
        with self.lock:
            result = self.llm.generate([request])[0]
        return {"id": "chatcmpl-1", "object": "chat.completion", "model": self.model,
                "choices": [{"index": 0, "finish_reason": c.finish_reason,
                             "message": {"role": "assistant", "content": c.text}}
                            for c in result.completions]}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": server.model}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    self._send(200, server.answer(body))
                except LLMError as error:  # e.g. a constraint the engine could not meet
                    self._send(400, {"error": {"message": str(error)}})

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    from citeline.llm.local import TransformersLLM

    llm = TransformersLLM(structured_retries=0)
    llm.warm_up()
    server = ModelServer(llm, int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.url, flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.close()
