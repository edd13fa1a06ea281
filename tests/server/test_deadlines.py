"""Deadlines that hold: one budget per request covers every call, retry and wait; at the deadline the work stops.

Real servers on loopback: the proxy under uvicorn, ``ScriptedUpstream`` answering slower than
the budget (a real FastAPI server: a model server cannot be made slow on demand), and the
embedded model in-process.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from server_helpers import KEY, Reply, ScriptedUpstream, ThreadServer, make_settings

from lance.backends import ChatModel, GenerateParams
from lance.backends import deadline
from lance.backends.llamacpp import LlamaCppChatModel
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.backends.slots import SlotLimitedChatModel
from lance.config.server import ServerConfig
from lance.errors import BackendTimeout
from lance.lance import Lance
from lance.server.app import create_app

AUTH = {"Authorization": f"Bearer {KEY}"}
ASK = {"model": "lance", "messages": [{"role": "user", "content": "What is the capital of France?"}], "temperature": 0.0}
#: A prompt the base model keeps answering for hundreds of tokens (greedy, seed 0: it counts on).
LONG_ANSWER = "Count from 1 to 500, separated by commas: 1, 2, 3, 4, 5,"


def proxy(lance_pipeline: Lance, target: ChatModel, **server: Any) -> ThreadServer:
    lance = Lance(make_settings(), target=target, refiner=target, assessor=lance_pipeline.pipeline.assessor)
    return ThreadServer(create_app(lance, ServerConfig(api_keys=(KEY,), **server)))


def in_flight(url: str) -> int:
    return int(httpx.get(f"{url}/health", timeout=10).json()["in_flight"])


def wait_idle(url: str, limit: float) -> float:
    """Seconds until no request is in flight (fails after ``limit``)."""
    t0 = time.monotonic()
    while in_flight(url):
        assert time.monotonic() - t0 < limit, f"the abandoned work still held its slot after {limit} s"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_one_budget_covers_every_attempt_and_retry(lance_pipeline: Lance) -> None:
    """2 s per attempt, 3 retries, 3 s per request: the retries stop at the request's deadline."""
    with ScriptedUpstream(Reply(delay=5)) as upstream:
        target = OpenAICompatChatModel(upstream.base_url, "m", prompt_format="completion", timeout=2, max_retries=3)
        with proxy(lance_pipeline, target, request_timeout=3) as server:
            t0 = time.monotonic()
            resp = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
            answered = time.monotonic()
            assert resp.status_code == 504 and resp.json()["error"]["code"] == "timeout"
            assert 2.9 < answered - t0 < 4.0
            wait_idle(server.url, 1.0)
        assert upstream.arrivals and all(a < t0 + 3 for a in upstream.arrivals)  # no attempt after the deadline


def test_a_504_cancels_the_work_and_frees_its_slot(lance_pipeline: Lance) -> None:
    """One slot, no queue: after a 504 the next request is admitted, not refused with 429."""
    with ScriptedUpstream(Reply(delay=30)) as upstream:
        target = OpenAICompatChatModel(upstream.base_url, "m", prompt_format="completion", timeout=60, max_retries=0)
        with proxy(lance_pipeline, target, request_timeout=1.5, max_concurrency=1, max_queue=0) as server:
            first = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
            assert first.status_code == 504, first.text
            wait_idle(server.url, 1.0)
            second = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
            assert second.status_code == 504, second.text  # admitted (the upstream is still slow), not 429


def prompt_seconds(model: ChatModel) -> float:
    """How long the model takes to read ``LONG_ANSWER`` and write one token here and now.

    Reading the prompt is one llama.cpp call that cannot be interrupted (the deadline is checked
    before it and at every generated token), and on a loaded machine it takes seconds, so the
    bounds below are this plus a margin instead of fixed numbers.
    """
    t0 = time.monotonic()
    model.generate(LONG_ANSWER, max_tokens=1, temperature=0.0, seed=0, timeout=300)
    return time.monotonic() - t0


def test_a_504_stops_an_in_process_llama_generation(lance_pipeline: Lance, embedded_model: ChatModel) -> None:
    """The count runs for minutes; the 504 ends it at the next token (the default timeout would be 120 s)."""
    budget = 2 * prompt_seconds(embedded_model) + 1.5
    with proxy(lance_pipeline, embedded_model, request_timeout=budget) as server:
        body = ASK | {"messages": [{"role": "user", "content": LONG_ANSWER}], "max_tokens": 1500}
        resp = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=AUTH, timeout=300)
        assert resp.status_code == 504, resp.text
        wait_idle(server.url, 3.0)


def test_a_call_without_a_timeout_gets_the_backends_own() -> None:
    """The refiner's calls carry no timeout unless ``pipeline.call_timeout`` is set: llama.cpp still bounds them."""
    model = LlamaCppChatModel(n_threads=2, params=GenerateParams(timeout=0.5))
    try:
        read = prompt_seconds(model)
        t0 = time.monotonic()
        with pytest.raises(BackendTimeout):
            model.generate(LONG_ANSWER, GenerateParams(timeout=None, max_tokens=1500, temperature=0.0, seed=0))
        assert time.monotonic() - t0 < 2 * read + 3
    finally:
        model.close()


def hold(model: ChatModel, seconds: float = 4.0) -> threading.Thread:
    """A long real generation on ``model`` in a thread: it holds the model's lock (or a slot) for ``seconds``."""

    def run() -> None:
        try:
            model.generate(LONG_ANSWER, max_tokens=1500, temperature=0.0, timeout=seconds)
        except BackendTimeout:
            pass  # the count is longer than ``seconds``: that is the point

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    return t


def test_a_wait_for_the_model_lock_ends_by_the_deadline(embedded_model: ChatModel) -> None:
    busy = hold(embedded_model)
    try:
        t0 = time.monotonic()
        with deadline.within(0.5), pytest.raises(BackendTimeout, match="busy"):
            embedded_model.generate("What is the capital of France?", max_tokens=8, timeout=60)
        assert time.monotonic() - t0 < 1.5
    finally:
        busy.join()


def test_a_wait_for_a_refiner_slot_ends_by_the_deadline(embedded_model: ChatModel) -> None:
    limited = SlotLimitedChatModel(embedded_model, 1, wait_timeout=300)
    busy = hold(limited)
    try:
        t0 = time.monotonic()
        with deadline.within(0.5), pytest.raises(BackendTimeout, match="slot"):
            limited.generate("What is the capital of France?", max_tokens=8)
        assert time.monotonic() - t0 < 1.5
    finally:
        busy.join()


def test_a_spent_budget_stops_the_chain_before_its_next_stage(lance_pipeline: Lance) -> None:
    with deadline.within(0.0), pytest.raises(BackendTimeout, match="stage 'assess'"):
        lance_pipeline.respond("What is the capital of France?")
