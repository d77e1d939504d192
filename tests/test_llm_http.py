"""The OpenAI-compatible backend against a tiny fake server on 127.0.0.1: what it sends, and how it
copes with a server that is down, slow, failing, or answering garbage."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citeline.llm import GenerationRequest, Message, StructuredOutput
from citeline.core.generation import LLMError, StructuredOutputError, UnsupportedRequest
from citeline.llm.openai_http import OpenAICompatibleLLM
from citeline.llm.vllm_server import free_port

CHAT = GenerationRequest(messages=(Message("user", "hi"),), max_tokens=5)


class FakeServer:
    """Answers like vLLM's OpenAI server; ``mode`` switches on one kind of misbehaviour."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.reply = "hello"
        self.bodies: list[dict] = []
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, text: str) -> None:
                with server.lock:  # done before the reply leaves, so the client cannot race ahead
                    server.in_flight -= 1
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with server.lock:
                    server.in_flight += 1
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake-model"}]}))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    server.calls += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    calls = server.calls
                self._answer(body, calls)

            def _answer(self, body: dict, calls: int) -> None:
                mode = server.mode
                if mode == "slow":
                    time.sleep(2)
                if mode == "busy":
                    time.sleep(0.2)
                if mode == "garbage":
                    return self._send(200, "<html>502 Bad Gateway</html>")
                if mode == "no-choices":
                    return self._send(200, json.dumps({"id": "x", "object": "chat.completion"}))
                if mode == "500" or (mode == "500-once" and calls == 1):
                    return self._send(500, '{"error": "engine crashed"}')
                if mode == "400":
                    return self._send(400, '{"error": {"message": "max_tokens is too large"}}')
                self._send(200, json.dumps(server.completion(body)))

        return Handler

    def completion(self, body: dict) -> dict:
        chat = "messages" in body
        choices = []
        for index in range(body.get("n", 1)):
            text = self.reply
            choice = {"index": index, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
                if body.get("logprobs"):
                    choice["logprobs"] = {"content": [{"token": text, "logprob": -0.5, "top_logprobs": [
                        {"token": text, "logprob": -0.5}, {"token": "bye", "logprob": -1.5}]}]}
            else:
                choice["text"] = text
                if body.get("logprobs") is not None:
                    choice["logprobs"] = {"tokens": [text], "token_logprobs": [-0.25],
                                          "top_logprobs": [{text: -0.25}]}
            choices.append(choice)
        return {"id": "cmpl-1", "model": "fake-model", "choices": choices}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def test_chat_batch_n_and_engine_are_reported(server):
    llm = OpenAICompatibleLLM(server.url)
    requests = [CHAT, GenerationRequest(prompt="Once", n=3, seed=7, temperature=0.5, stop=("\n",))]
    results = llm.generate(requests)
    assert [len(r.completions) for r in results] == [1, 3]
    assert results[0].completions[0].text == "hello"
    assert {(r.engine, r.model) for r in results} == {("openai-http", "fake-model")}
    completion = next(b for b in server.bodies if "prompt" in b)
    assert completion == {"model": "fake-model", "max_tokens": 256, "temperature": 0.5, "n": 3,
                          "prompt": "Once", "seed": 7, "stop": ["\n"]}


def test_logprobs_are_parsed_for_chat_and_completion(server):
    llm = OpenAICompatibleLLM(server.url, model="fake-model")
    chat, plain = llm.generate([GenerationRequest(messages=CHAT.messages, logprobs=2),
                                GenerationRequest(prompt="x", logprobs=1)])
    sent = next(b for b in server.bodies if "messages" in b)
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2
    assert chat.completions[0].logprobs[0].top == {"hello": -0.5, "bye": -1.5}
    assert plain.completions[0].logprobs[0].logprob == -0.25


def test_structured_outputs_go_in_vllms_field(server):
    llm = OpenAICompatibleLLM(server.url)
    server.reply = "yes"
    llm.generate([GenerationRequest(messages=CHAT.messages, structured=StructuredOutput(choice=("yes", "no")))])
    assert server.bodies[-1]["structured_outputs"] == {"choice": ["yes", "no"]}
    assert not any(k.startswith("guided_") for k in server.bodies[-1])  # removed from vLLM


def test_response_format_mode_sends_a_json_schema(server):
    llm = OpenAICompatibleLLM(server.url, structured="response_format")
    server.reply = '{"a": 1}'
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    llm.generate([GenerationRequest(messages=CHAT.messages, structured=StructuredOutput(json_schema=schema))])
    sent = server.bodies[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == schema
    with pytest.raises(UnsupportedRequest, match="regex"):
        llm.generate([GenerationRequest(messages=CHAT.messages, structured=StructuredOutput(regex="a+"))])


def test_a_server_that_ignores_the_constraint_is_caught(server):
    server.reply = "maybe"
    llm = OpenAICompatibleLLM(server.url)
    with pytest.raises(StructuredOutputError, match="maybe"):
        llm.generate([GenerationRequest(messages=CHAT.messages, structured=StructuredOutput(choice=("yes", "no")))])


def test_server_down_is_a_clear_error_after_bounded_retries():
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=2, backoff=0.01)
    with pytest.raises(LLMError, match=r"failed after 3 tries: cannot connect.*server running"):
        llm.generate([CHAT])


def test_slow_server_times_out(server):
    server.mode = "slow"
    llm = OpenAICompatibleLLM(server.url, model="m", timeout=0.3, max_retries=1, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(LLMError, match="no answer within 0.3 s"):
        llm.generate([CHAT])
    assert time.monotonic() - started < 1.9  # two 0.3 s tries, not the server's 2 s


def test_garbage_and_wrong_shapes_are_named(server):
    llm = OpenAICompatibleLLM(server.url, model="m")
    server.mode = "garbage"
    with pytest.raises(LLMError, match="not JSON.*Bad Gateway"):
        llm.generate([CHAT])
    server.mode = "no-choices"
    with pytest.raises(LLMError, match="without the expected choices"):
        llm.generate([CHAT])


def test_5xx_is_retried_then_succeeds(server):
    server.mode = "500-once"
    llm = OpenAICompatibleLLM(server.url, model="m", backoff=0.01)
    assert llm.generate([CHAT])[0].completions[0].text == "hello"
    assert server.calls == 2


def test_5xx_gives_up_and_4xx_is_not_retried(server):
    llm = OpenAICompatibleLLM(server.url, model="m", max_retries=1, backoff=0.01)
    server.mode = "500"
    with pytest.raises(LLMError, match="HTTP 500.*engine crashed"):
        llm.generate([CHAT])
    server.mode, server.calls = "400", 0
    with pytest.raises(LLMError, match="refused the request: HTTP 400.*max_tokens"):
        llm.generate([CHAT])
    assert server.calls == 1


def test_concurrency_is_limited(server):
    server.mode = "busy"
    llm = OpenAICompatibleLLM(server.url, model="m", concurrency=3)
    results = llm.generate([CHAT] * 9)
    assert len(results) == 9
    assert 1 < server.max_in_flight <= 3


def test_bad_requests_are_refused_before_sending(server):
    llm = OpenAICompatibleLLM(server.url, model="m")
    with pytest.raises(ValueError, match="request 1: n must be at least 1"):
        llm.generate([CHAT, GenerationRequest(prompt="x", n=0)])
    with pytest.raises(ValueError, match="exactly one of messages"):
        llm.generate([GenerationRequest()])
    with pytest.raises(ValueError, match="exactly one of json_schema, regex, choice"):
        llm.generate([GenerationRequest(prompt="x", structured=StructuredOutput(regex="a", choice=("a",)))])
    assert server.calls == 0
