"""A real OpenAI-compatible chat server on 127.0.0.1 in front of any citeline LLM backend (the
local SmolLM2 in the tests), for running commands "against a server" where vLLM is not installed.

It is ``tests/test_llm_http.py``'s fake server answering with a model: ``POST /v1/chat/completions``
becomes a ``GenerationRequest`` with vLLM's ``structured_outputs`` field (regex, json, choice)
passed on, so the local backend enforces a regex while decoding exactly as it does in-process.
"""

from __future__ import annotations

import threading
from typing import Any

from citeline.core.generation import GenerationRequest, Message, StructuredOutput, StructuredOutputError
from tests.test_llm_http import FakeServer


class ModelServer(FakeServer):
    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.generating = threading.Lock()  # one generation at a time, as one engine
        super().__init__()

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = body.get("structured_outputs") or {}
        structured = (StructuredOutput(regex=fields["regex"]) if "regex" in fields
                      else StructuredOutput(json_schema=fields["json"]) if "json" in fields
                      else StructuredOutput(choice=tuple(fields["choice"])) if "choice" in fields else None)
        request = GenerationRequest(messages=tuple(Message(m["role"], m["content"]) for m in body["messages"]),
                                    max_tokens=body.get("max_tokens", 256), temperature=body.get("temperature", 0.0),
                                    seed=body.get("seed"), structured=structured)
        with self.generating:
            try:
                completions = [(c.text, c.finish_reason) for c in self.llm.generate([request])[0].completions]
            except StructuredOutputError:  # the constraint was not met within max_tokens: like a server whose
                completions = [("", "length")]  # reply was cut, the client finds it breaks the constraint
        return {"id": "chatcmpl-1", "model": body["model"],
                "choices": [{"index": i, "finish_reason": reason, "message": {"role": "assistant", "content": text}}
                            for i, (text, reason) in enumerate(completions)]}
