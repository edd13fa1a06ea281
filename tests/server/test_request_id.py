"""The request id on every response, and metrics that belong to one app. No model is loaded.

The apps wrap a real ``Lance`` that is never invoked (its models load lazily), as in
``test_validation.py``, and are called in-process through httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_helpers import DecisionLines

from lance.assess.distribution import RiskDistribution
from lance.backends import GenerateParams, Message
from lance.config import load_settings
from lance.config.server import ServerConfig
from lance.lance import Lance
from lance.server.app import create_app
from lance.server.engine import ProxyResult
from lance.server.request_id import request_id

KEY = "sk-test-request-id"
AUTH = {"Authorization": f"Bearer {KEY}"}
OK = {"model": "lance", "messages": [{"role": "user", "content": "hi"}]}
GENERATED = re.compile(r"[0-9a-f]{32}")


def call(app: Any, method: str, url: str, **kw: Any) -> httpx.Response:
    # raise_app_exceptions=False: Starlette re-raises a bug after answering 500; the client should see the 500
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://lance") as c:
            return await c.request(method, url, **kw)

    return asyncio.run(go())


def app_with(**config: Any) -> Any:
    return create_app(Lance(load_settings()), ServerConfig(api_keys=(KEY,), max_body_bytes=4096, **config))


@pytest.mark.parametrize("sent", ["abc", "0b4f2c3e-1d2a-4c9e-9a57-7f0e6b1d2c3a", "01HZX3JQ8V2K9", "trace:span.1_x-2", "a" * 128])
def test_sane_client_ids_are_kept(sent: str) -> None:
    assert request_id(sent) == sent


@pytest.mark.parametrize("sent", [None, "", " ", "a b", "x\r\nSet-Cookie: y", "<script>", "a" * 129, "-starts-with-dash", "é"])
def test_other_ids_are_replaced_by_a_fresh_one(sent: str | None) -> None:
    got = request_id(sent)
    assert GENERATED.fullmatch(got) and got != sent
    assert request_id(sent) != got  # fresh each time


@pytest.mark.parametrize(
    ("method", "url", "kw", "status"),
    [
        ("GET", "/health", {}, 200),
        ("GET", "/v1/models", {"headers": AUTH}, 200),
        ("POST", "/v1/chat/completions", {"json": OK}, 401),
        ("POST", "/v1/chat/completions", {"json": {"model": "lance", "messages": []}, "headers": AUTH}, 400),
        ("POST", "/v1/chat/completions", {"content": b"x" * 5000, "headers": AUTH}, 413),
        ("GET", "/nowhere", {"headers": AUTH}, 404),
        ("DELETE", "/v1/models", {"headers": AUTH}, 405),
    ],
)
def test_every_response_carries_the_request_id(method: str, url: str, kw: dict[str, Any], status: int) -> None:
    app = app_with()
    headers = kw.pop("headers", {})
    mine = call(app, method, url, headers=headers | {"X-Request-ID": "req-42"}, **kw)
    fresh = call(app, method, url, headers=headers | {"X-Request-ID": "bad id\t"}, **kw)
    assert mine.status_code == fresh.status_code == status, mine.text
    assert mine.headers["x-request-id"] == "req-42"
    assert GENERATED.fullmatch(fresh.headers["x-request-id"])


def _counts(text: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value  # type: ignore[misc]
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "lance_requests_total"
    }


def test_each_app_counts_its_own_requests() -> None:
    a, b = app_with(), app_with()
    for _ in range(3):
        assert call(a, "POST", "/v1/chat/completions", json={"messages": []}, headers=AUTH).status_code == 400
    a_counts = _counts(call(a, "GET", "/metrics", headers=AUTH).text)
    b_counts = _counts(call(b, "GET", "/metrics", headers=AUTH).text)
    bad = tuple(sorted({"endpoint": "/v1/chat/completions", "route": "none", "category": "none", "status": "400"}.items()))
    assert a_counts[bad] == 3
    assert bad not in b_counts


def test_metrics_can_be_switched_off() -> None:
    app = app_with(metrics=False)
    assert call(app, "GET", "/metrics", headers=AUTH).status_code == 404
    assert "/metrics" not in call(app, "GET", "/openapi.json").json()["paths"]
    assert "/metrics" in call(app_with(), "GET", "/openapi.json").json()["paths"]


class Buggy:
    """A responder with a bug (a fault the real pipeline cannot be made to have on demand)."""

    name = "buggy"

    def base_params(self) -> GenerateParams:
        return GenerateParams()

    async def respond(self, messages: list[Message], params: GenerateParams) -> ProxyResult:
        raise RuntimeError("a bug")

    async def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        raise RuntimeError("a bug")


def test_a_500_carries_the_request_id_and_is_logged_once() -> None:
    app = create_app(Buggy(), ServerConfig())
    with DecisionLines() as lines:
        resp = call(app, "POST", "/v1/chat/completions", json=OK, headers={"X-Request-ID": "req-bug"})
    assert resp.status_code == 500 and resp.headers["x-request-id"] == "req-bug"
    (rec,) = lines.records()
    assert rec["request_id"] == "req-bug" and rec["status"] == 500 and rec["error_code"] == "internal_error"
    counts = _counts(call(app, "GET", "/metrics").text)
    assert counts[tuple(sorted({"endpoint": "/v1/chat/completions", "route": "none", "category": "none", "status": "500"}.items()))] == 1
