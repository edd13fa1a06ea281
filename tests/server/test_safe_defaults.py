"""Safe defaults of ``lance serve``: no open network port by accident, risk kept to the server,
a per-key limit on the assess oracle, a ``max_tokens`` cap.

Real parts throughout: ``lance serve`` as a child process for the start-up refusal, the real
pipeline (embedded model, real assessor) behind uvicorn on loopback for the responses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from server_helpers import KEY, LanceServeProcess, ThreadServer, json_strings

from lance.backends import GenerateParams
from lance.backends.local_server import free_port
from lance.config.server import ServerConfig, check_exposure, server_config
from lance.errors import ConfigError
from lance.lance import Lance
from lance.server.app import create_app, request_params
from lance.server.schemas import ChatCompletionRequest

AUTH = {"Authorization": f"Bearer {KEY}"}
OTHER_KEY = "sk-lance-test-other"
BENIGN = "What is the capital of France?"
#: A backend nobody listens on: with --passthrough, ``lance serve`` starts without loading a model.
DEAD_BACKEND = {"backend": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "none"}}


# --- binding a network interface --------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "lance.example.org", "127.0.0.1.example.org"])
def test_network_host_without_keys_is_refused(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANCE_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match="--allow-unauthenticated"):
        check_exposure(server_config({"host": host}))
    # each way out is accepted: a key, the setting, or the environment's keys
    check_exposure(server_config({"host": host}, extra_keys=["sk-a"]))
    check_exposure(server_config({"host": host, "allow_unauthenticated": True}))
    monkeypatch.setenv("LANCE_API_KEYS", "sk-env")
    check_exposure(server_config({"host": host}))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LocalHost", "::1", "[::1]"])
def test_loopback_host_needs_no_key(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANCE_API_KEYS", raising=False)
    check_exposure(server_config({"host": host}))


def test_lance_serve_on_all_interfaces_without_a_key_exits_before_listening(tmp_path: Path) -> None:
    cfg = tmp_path / "open.yaml"
    cfg.write_text(yaml.safe_dump(DEAD_BACKEND))
    port = free_port()
    cmd = [sys.executable, "-m", "lance", "--config", str(cfg), "serve", "--passthrough", "--host", "0.0.0.0",
           "--port", str(port)]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**_env(), "LANCE_API_KEYS": ""})
    except subprocess.TimeoutExpired:
        pytest.fail("lance serve kept running on 0.0.0.0 with no API key")
    assert done.returncode == 1, done.stderr
    err = " ".join(done.stderr.split())
    assert "refusing to serve on 0.0.0.0 without an API key" in err and "--allow-unauthenticated" in err
    assert "LANCE serving" not in err  # it never got as far as listening


def test_allow_unauthenticated_flag_serves_and_warns(tmp_path: Path) -> None:
    server = LanceServeProcess(tmp_path, DEAD_BACKEND, "--passthrough", "--host", "0.0.0.0", "--allow-unauthenticated")
    try:
        server.wait_ready(timeout=120)
        assert httpx.get(f"{server.url}/v1/models", timeout=10).status_code == 200  # open: no key needed
        assert "warning: serving 0.0.0.0 with no API key" in " ".join(server.log().split())
    finally:
        server.stop()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ) | {"HF_HUB_OFFLINE": "1"}


# --- risk kept to the server ------------------------------------------------------------------


def _floats(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def _chat(url: str, prompt: str) -> httpx.Response:
    body = {"model": "lance", "messages": [{"role": "user", "content": prompt}], "max_tokens": 8, "temperature": 0.0}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=AUTH, timeout=600)


def test_lance_field_hides_the_distribution_by_default(lance_pipeline: Lance) -> None:
    secret = lance_pipeline.pipeline.assessor.assess([BENIGN])[0]  # type: ignore[attr-defined]
    # every probability the gate computed for the prompt, as a reason or a client would print it
    shown = {f"{p:.2f}" for p in secret.probs.values()} | {f"{secret.risk:.2f}", f"{secret.p_safe:.2f}"}
    shown -= {"0.00", "1.00"}

    with ThreadServer(create_app(lance_pipeline, ServerConfig(api_keys=(KEY,)))) as server:
        hidden = _chat(server.url, BENIGN)
    assert hidden.status_code == 200, hidden.text
    meta = hidden.json()["lance"]
    assert meta["route"] == "pass" and meta["reason"]
    assert "distribution" not in meta
    assert _floats(meta) == []
    leaked = [s for s in json_strings(meta) for n in shown if n in s]
    assert not leaked, leaked

    with ThreadServer(create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), expose_risk=True))) as server:
        exposed = _chat(server.url, BENIGN).json()["lance"]
    # the same request with expose_risk shows what the default hid (so the check above can see a leak)
    assert exposed["route"] == "pass"
    assert exposed["distribution"]["before"]["distribution"] == pytest.approx(dict(secret.probs), abs=1e-4)
    assert f"{secret.p_safe:.2f}" in exposed["reason"]


def test_assess_endpoint_is_off_by_default(lance_pipeline: Lance) -> None:
    with ThreadServer(create_app(lance_pipeline, ServerConfig(api_keys=(KEY,)))) as server:
        resp = httpx.post(f"{server.url}/v1/lance/assess", json={"input": BENIGN}, headers=AUTH, timeout=60)
    assert resp.status_code == 403, resp.text
    err = resp.json()["error"]
    assert err["code"] == "risk_not_exposed" and "server.expose_risk" in err["message"]
    assert "distribution" not in resp.text and "data" not in resp.json()


def test_exposed_assess_is_behind_auth_and_limited_per_key(lance_pipeline: Lance) -> None:
    config = ServerConfig(api_keys=(KEY, OTHER_KEY), expose_risk=True, rate_limit_per_minute=3)
    url_of = lambda s: f"{s.url}/v1/lance/assess"  # noqa: E731
    with ThreadServer(create_app(lance_pipeline, config)) as server:
        url = url_of(server)
        assert httpx.post(url, json={"input": BENIGN}, timeout=60).status_code == 401
        first = httpx.post(url, json={"input": [BENIGN, "Hello"]}, headers=AUTH, timeout=60)
        assert first.status_code == 200 and len(first.json()["data"]) == 2
        assert httpx.post(url, json={"input": "One more"}, headers=AUTH, timeout=60).status_code == 200
        over = httpx.post(url, json={"input": "And another"}, headers=AUTH, timeout=60)
        other = httpx.post(url, json={"input": "Hi"}, headers={"Authorization": f"Bearer {OTHER_KEY}"}, timeout=60)
        too_big = httpx.post(url, json={"input": ["a", "b", "c", "d"]},
                             headers={"Authorization": f"Bearer {OTHER_KEY}"}, timeout=60)  # fmt: skip
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    # Retry-After says when the first batch leaves the 60 s window: just under a minute from now
    assert 50 <= int(over.headers["Retry-After"]) <= 60
    assert other.status_code == 200  # the other key has its own budget
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "over_rate_limit"


# --- max_tokens ---------------------------------------------------------------------------------


def test_max_tokens_is_capped_at_1024_by_default() -> None:
    req = ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 20_000})
    assert request_params(req, GenerateParams(max_tokens=256), ServerConfig()).max_tokens == 1024
    # an explicit null switches the cap off
    assert request_params(req, GenerateParams(max_tokens=256), ServerConfig(max_tokens_cap=None)).max_tokens == 20_000
