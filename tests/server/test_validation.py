"""Bad input never reaches the pipeline: 4xx with an OpenAI error object, one clear message.

The app wraps a real ``Lance`` that is never invoked (its models load lazily),
so these tests need no model and run in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lance.config import load_settings
from lance.lance import Lance
from lance.server.app import create_app
from lance.config.server import ServerConfig

KEY = "sk-test-validation"
AUTH = {"Authorization": f"Bearer {KEY}"}
OK_MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    app = create_app(Lance(load_settings()), ServerConfig(api_keys=(KEY,), max_body_bytes=4096))
    transport = httpx.ASGITransport(app=app)

    async def call(method: str, url: str, **kw: Any) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://lance") as c:
            return await c.request(method, url, **kw)

    class Client:
        def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
            return asyncio.run(call(method, url, **kw))

        def post(self, url: str, **kw: Any) -> httpx.Response:
            return self.request("POST", url, **kw)

        def get(self, url: str, **kw: Any) -> httpx.Response:
            return self.request("GET", url, **kw)

    yield Client()  # type: ignore[misc]


def assert_error(resp: httpx.Response, status: int, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"] and "\n" not in err["message"]
    if code is not None:
        assert err["code"] == code
    if param is not None:
        assert err["param"] == param
    return err


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages.0"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": 5}]}, None),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None),
        ({"messages": [{"role": "user", "content": "   "}]}, None),
        ({"messages": [{"role": "system", "content": "be nice"}]}, None),
        ({"messages": OK_MSG, "temperature": "hot"}, "temperature"),
        ({"messages": OK_MSG, "temperature": "0.5"}, "temperature"),
        ({"messages": OK_MSG, "temperature": 3.0}, "temperature"),
        ({"messages": OK_MSG, "max_tokens": 0}, "max_tokens"),
        ({"messages": OK_MSG, "max_tokens": 1.5}, "max_tokens"),
        ({"messages": OK_MSG, "stream": "yes"}, "stream"),
        ({"messages": OK_MSG, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": OK_MSG, "n": 2}, "n"),
        ({"messages": OK_MSG, "seed": "1"}, None),
        ({"messages": OK_MSG, "model": 7}, "model"),
        ({"messages": OK_MSG, "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"messages": OK_MSG, "tools": []}, "tools"),
        ({"messages": OK_MSG, "functions": [{"name": "f", "parameters": {}}]}, "functions"),
    ],
)
def test_invalid_chat_requests_are_400(client: Any, body: dict[str, Any], param: str | None) -> None:
    err = assert_error(client.post("/v1/chat/completions", json=body, headers=AUTH), 400, param=param)
    assert err["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("raw", "path", "param"),
    [
        (rb'{"messages": [{"role": "user", "content": "hi \ud800 there"}]}', "/v1/chat/completions", "messages.0.content"),
        (rb'{"messages": [{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}]}', "/v1/chat/completions",
         "messages.0.content"),
        (rb'{"messages": [{"role": "user", "content": "hi"}], "stop": ["\ud83d"]}', "/v1/chat/completions", "stop"),
        (rb'{"input": ["fine", "lone \ud800"]}', "/v1/lance/assess", "input"),
    ],
)
def test_a_lone_surrogate_is_400_invalid_text(client: Any, raw: bytes, path: str, param: str) -> None:
    """JSON's ``\\ud800`` escape decodes to a lone surrogate, which no tokenizer or upstream can take."""
    resp = client.post(path, content=raw, headers=AUTH | {"Content-Type": "application/json"})
    err = assert_error(resp, 400, param=param)
    assert "surrogate" in err["message"]


def test_a_surrogate_pair_is_valid_text() -> None:
    """An escaped pair is one real character (an emoji): accepted."""
    from lance.server.schemas import ChatCompletionRequest

    req = ChatCompletionRequest.model_validate_json(b'{"messages": [{"role": "user", "content": "hi \\ud83d\\ude00"}]}')
    assert req.to_messages()[0].content == "hi \U0001f600"


def test_malformed_json_is_400(client: Any) -> None:
    resp = client.post(
        "/v1/chat/completions", content=b'{"messages": [', headers=AUTH | {"Content-Type": "application/json"}
    )
    assert_error(resp, 400, code="invalid_json")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null", b"42"])
def test_non_object_body_is_400(client: Any, raw: bytes) -> None:
    resp = client.post("/v1/chat/completions", content=raw, headers=AUTH | {"Content-Type": "application/json"})
    assert_error(resp, 400)


def test_oversized_body_is_413(client: Any) -> None:
    big = {"messages": [{"role": "user", "content": "x" * 10_000}]}
    assert_error(client.post("/v1/chat/completions", json=big, headers=AUTH), 413, code="request_too_large")


def test_oversized_chunked_body_is_413(client: Any) -> None:
    """No Content-Length (chunked upload): the limit is enforced while reading."""

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    resp = client.post("/v1/chat/completions", content=chunks(), headers=AUTH)
    assert_error(resp, 413, code="request_too_large")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer "}],
)
def test_missing_or_wrong_key_is_401(client: Any, headers: dict[str, str]) -> None:
    resp = client.post("/v1/chat/completions", json={"messages": OK_MSG}, headers=headers)
    assert_error(resp, 401, code="invalid_api_key")
    assert resp.headers["www-authenticate"] == "Bearer"


def test_auth_comes_before_parsing(client: Any) -> None:
    """An unauthenticated client learns nothing about the body (not even that it is malformed)."""
    resp = client.post("/v1/chat/completions", content=b"{", headers={"Content-Type": "application/json"})
    assert_error(resp, 401)
    assert_error(client.get("/v1/models"), 401)
    assert_error(client.post("/v1/lance/assess", json={"input": "x"}), 401)


def test_health_and_spec_are_public(client: Any) -> None:
    assert client.get("/health").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/lance/assess", "/health"} <= set(spec["paths"])


@pytest.mark.parametrize(
    "body", [{}, {"input": ""}, {"input": []}, {"input": ["ok", " "]}, {"input": 3}, {"input": ["x"] * 65}]
)
def test_invalid_assess_requests_are_400(client: Any, body: dict[str, Any]) -> None:
    assert_error(client.post("/v1/lance/assess", json=body, headers=AUTH), 400)


def test_unknown_path_and_method(client: Any) -> None:
    assert_error(client.get("/v1/nothing", headers=AUTH), 404, code="not_found")
    assert_error(client.get("/v1/chat/completions", headers=AUTH), 405, code="method_not_allowed")
    assert_error(client.get("/v1/models/some-other-model", headers=AUTH), 404, code="model_not_found")


def test_unknown_extra_fields_are_tolerated_by_the_schema() -> None:
    """Clients send OpenAI parameters LANCE ignores (penalties, user, logit_bias); they must not be rejected."""
    from lance.server.schemas import ChatCompletionRequest

    req = ChatCompletionRequest.model_validate(
        {"model": "m", "messages": OK_MSG, "frequency_penalty": 0.5, "logit_bias": {"1": 2}, "user": "u", "n": 1}
    )
    assert req.to_messages()[0].content == "hi"
