"""The proxy in front of a live vLLM server (``make test-vllm``, in .venv-vllm; skipped elsewhere)."""

import json

import pytest

pytestmark = pytest.mark.vllm

PARIS = "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was completed in 1889."


def test_the_proxy_adds_a_report_to_vllms_answers_streamed_or_not():
    pytest.importorskip("vllm", reason="vLLM is not installed here; `make test-vllm` runs this in .venv-vllm")
    pytest.importorskip("fastapi", reason="citeline serve needs FastAPI (vLLM brings it)")
    import httpx

    from citeline.llm.vllm_server import VLLMServer
    from tests.serve_helpers import running_server
    from tests.test_llm_contract import _model_folder

    body = {"messages": [{"role": "user", "content": "Where is the Eiffel Tower? Cite [1]."}], "max_tokens": 24,
            "temperature": 0, "citeline": {"documents": [PARIS]}}
    with VLLMServer(_model_folder(), max_model_len=2048) as vllm, \
            running_server("--verifier", "lexical", "--splitter", "regex", "--upstream", vllm.base_url) as base:
        model = httpx.get(f"{base}/v1/models").json()["data"][0]["id"]
        data = httpx.post(f"{base}/v1/chat/completions", json={**body, "model": model}, timeout=300).json()
        with httpx.stream("POST", f"{base}/v1/chat/completions", json={**body, "model": model, "stream": True},
                          timeout=300) as response:
            events = [e for e in response.read().decode().split("\n\n") if e]
    text = data["choices"][0]["message"]["content"]
    entry = data["citeline"]["choices"][0]
    assert text.strip() and entry["report"]["answer"]["text"] == text
    assert data["citeline"]["documents_from"] == "request"
    assert events[-1] == "data: [DONE]"
    last = json.loads(events[-2][len("data: "):])
    streamed = "".join((json.loads(e[6:])["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                       for e in events[:-2])
    assert last["citeline"]["choices"][0]["report"]["answer"]["text"] == streamed
