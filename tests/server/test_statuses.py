"""Honest statuses: an upstream failure is never a 200 that hides it, and the client's own mistakes are 400s.

Real pipeline (the session's assessor, the embedded model), real servers: the proxy under
uvicorn, a real llama.cpp server, and ``ScriptedUpstream`` (a real FastAPI server on loopback)
for faults a model server cannot be made to produce on demand (429 with ``Retry-After``, a
malformed body, a reply slower than any timeout).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from server_helpers import KEY, RecordingChatModel, Reply, ScriptedUpstream, ThreadServer, make_settings

from lance.backends import ChatModel
from lance.backends.local_server import LocalLlamaServer, free_port
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.backends.slots import SlotLimitedChatModel
from lance.config.server import ServerConfig
from lance.errors import BackendRateLimited, ContextOverflow
from lance.lance import Lance
from lance.server.app import create_app

AUTH = {"Authorization": f"Bearer {KEY}"}
BENIGN = "What is the capital of France?"
#: Routed ``neutralize`` by the shipped gate (tests/server/test_metadata.py relies on it too).
HARMFUL = "How do I hack into my ex's Instagram account?"
#: ~3,000 tokens of benign text: more than the embedded model's 2,048-token context.
LONG = "The quick brown fox jumps over the lazy dog near the quiet river bank. " * 250


def chat(url: str, prompt: str, **extra: Any) -> httpx.Response:
    body = {"model": "lance", "messages": [{"role": "user", "content": prompt}], "temperature": 0.0} | extra
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=AUTH, timeout=300)


def http_model(base_url: str, **opts: Any) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(base_url, "gemma-3-270m", **({"prompt_format": "completion", "max_retries": 0} | opts))


def proxy(lance_pipeline: Lance, target: ChatModel, refiner: ChatModel | None = None, **server: Any) -> ThreadServer:
    lance = Lance(make_settings(), target=target, refiner=refiner or target, assessor=lance_pipeline.pipeline.assessor)
    return ThreadServer(create_app(lance, ServerConfig(api_keys=(KEY,), **server)))


def health(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/health", timeout=10).json()


def test_refiner_outage_ends_in_a_natural_refusal_that_says_so(lance_pipeline: Lance, recorder: RecordingChatModel) -> None:
    dead_refiner = http_model(f"http://127.0.0.1:{free_port()}/v1")
    before = len(recorder.calls)
    with proxy(lance_pipeline, recorder, dead_refiner) as server:
        resp = chat(server.url, HARMFUL)
        assert resp.status_code == 200, resp.text
        lance = resp.json()["lance"]
        assert lance["route"] == "refuse"
        assert lance["errors"] and {e["role"] for e in lance["errors"]} <= {"refiner", "refusal_writer"}
        assert {e["error"] for e in lance["errors"]} == {"BackendUnavailable"}
        assert all(e["message"] is None for e in lance["errors"])  # no internal address without debug
        assert health(server.url)["degraded"] == 1 and health(server.url)["upstream_errors"] == 0
        # a benign request on the same server is untouched by the refiner's outage
        ok = chat(server.url, BENIGN, max_tokens=8)
        assert ok.status_code == 200 and "errors" not in ok.json()["lance"]
    assert not any(HARMFUL in m.content for msgs, _, _ in recorder.calls[before:] for m in msgs)


def test_an_unexpected_exception_from_the_backend_is_502(lance_pipeline: Lance) -> None:
    """``usage.prompt_tokens`` as a list makes the backend raise ``TypeError`` (no ``ValueError``): still a failure."""
    bad = Reply(body={"choices": [{"index": 0, "text": " Paris.", "finish_reason": "stop"}], "usage": {"prompt_tokens": [1]}})
    with ScriptedUpstream(bad) as upstream, proxy(lance_pipeline, http_model(upstream.base_url)) as server:
        resp = chat(server.url, BENIGN)
        assert resp.status_code == 502, resp.text
        assert resp.json()["error"]["type"] == "upstream_error"
        assert health(server.url)["upstream_errors"] == 1


def test_context_overflow_on_the_embedded_model_is_400(lance_http: ThreadServer) -> None:
    resp = chat(lance_http.url, LONG)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert (err["type"], err["code"], err["param"]) == ("invalid_request_error", "context_length_exceeded", "messages")


def test_context_overflow_at_a_llama_server_upstream_is_400(lance_pipeline: Lance, llama_server: LocalLlamaServer) -> None:
    model = http_model(llama_server.base_url, timeout=120)
    with pytest.raises(ContextOverflow):
        model.generate(LONG, max_tokens=8)
    with proxy(lance_pipeline, model) as server:
        resp = chat(server.url, LONG)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == "context_length_exceeded"


def test_upstream_429_is_429_with_its_retry_after_and_no_wait_past_the_budget(lance_pipeline: Lance) -> None:
    limited = Reply(status=429, headers={"Retry-After": "7"})
    with ScriptedUpstream(limited) as upstream:
        model = http_model(upstream.base_url, max_retries=3, timeout=30)
        with proxy(lance_pipeline, model, request_timeout=5) as server:
            t0 = time.monotonic()
            resp = chat(server.url, BENIGN)
            took = time.monotonic() - t0
        assert resp.status_code == 429, resp.text
        assert resp.headers["retry-after"] == "7"
        assert resp.json()["error"] == {
            "message": "the upstream model is rate limiting; retry later", "type": "rate_limit_error",
            "param": None, "code": "upstream_rate_limited",
        }
        # a 7 s wait does not fit the 5 s budget, so the proxy answers at once instead of sleeping
        assert took < 3 and len(upstream.arrivals) == 1


def test_a_retry_after_that_fits_is_waited_for_then_retried() -> None:
    with ScriptedUpstream(Reply(status=429, headers={"Retry-After": "1.5"}), Reply()) as upstream:
        out = http_model(upstream.base_url, max_retries=2, timeout=30).generate(BENIGN, max_tokens=8)
        assert "Paris" in out.text
        assert len(upstream.arrivals) == 2 and upstream.arrivals[1] - upstream.arrivals[0] >= 1.4


def test_out_of_retries_a_429_keeps_its_retry_after() -> None:
    with ScriptedUpstream(Reply(status=429, headers={"Retry-After": "120"})) as upstream:
        with pytest.raises(BackendRateLimited) as info:
            http_model(upstream.base_url, max_retries=3).generate(BENIGN, max_tokens=8)
        assert info.value.retry_after == 120 and len(upstream.arrivals) == 1  # 120 s is past any wait we make


def test_a_refiner_slot_timeout_is_a_504_not_a_refusal(lance_pipeline: Lance, recorder: RecordingChatModel) -> None:
    """The only refiner slot is held by a slow call, so the harmful request's rewrite cannot start in time."""
    with ScriptedUpstream(Reply(delay=6)) as slow:
        refiner = SlotLimitedChatModel(http_model(slow.base_url, timeout=30), 1, wait_timeout=0.5)
        holder = threading.Thread(target=lambda: refiner.generate("hold the slot", max_tokens=4))
        holder.start()
        while not slow.arrivals:
            time.sleep(0.01)
        with proxy(lance_pipeline, recorder, refiner) as server:
            resp = chat(server.url, HARMFUL)
            assert resp.status_code == 504, resp.text
            assert resp.json()["error"]["code"] == "upstream_timeout"
            assert health(server.url)["upstream_errors"] == 1
        holder.join()
