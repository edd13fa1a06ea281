"""The audit page's JSON endpoints and the in-memory record of recent requests, over real HTTP.

The pipeline is the real one on the embedded model; only benign prompts (one target call
each) are sent here, the harmful audit runs in test_ui.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import KEY, MAX_TOKENS, LanceServeProcess, RecordingChatModel, ThreadServer

from lance.config.server import ServerConfig
from lance.lance import Lance
from lance.server.app import create_app
from lance.server.engine import PassthroughResponder, ProxyResult
from lance.server.recent import RecentRequests, RequestRecord

AUTH = {"Authorization": f"Bearer {KEY}"}
BENIGN = "What is the capital of France?"


def chat(url: str, prompt: str, **headers: str) -> httpx.Response:
    body = {"model": "lance", "messages": [{"role": "user", "content": prompt}], "temperature": 0.0}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=AUTH | headers, timeout=600)


def record(i: int, prompt: str | None = None) -> RequestRecord:
    result = ProxyResult(text="", llm_calls=i)
    return RequestRecord.of(result, endpoint="chat", status=200, latency_s=0.1, prompt=prompt)


def test_recent_requests_keep_only_the_newest_n() -> None:
    recent = RecentRequests(3, keep_prompts=True)
    for i in range(5):
        recent.add(record(i, prompt=f"p{i}"))
    assert [r.llm_calls for r in recent.snapshot()] == [4, 3, 2]
    assert [r.prompt for r in recent.snapshot(2)] == ["p4", "p3"]
    assert len(recent) == 3


def test_recent_requests_drop_prompts_unless_asked_to_keep_them() -> None:
    recent = RecentRequests(2)
    recent.add(record(1, prompt="my secret question"))
    assert recent.snapshot()[0].prompt is None
    with pytest.raises(ValueError, match="at least 1"):
        RecentRequests(0)


def test_audit_returns_the_full_result_clients_do_not_get(
    lance_http: ThreadServer, recorder: RecordingChatModel
) -> None:
    before = len(recorder.calls)
    resp = httpx.post(
        f"{lance_http.url}/v1/lance/audit", json={"messages": [{"role": "user", "content": BENIGN}]}, headers=AUTH,
        timeout=600,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    calls = recorder.calls[before:]
    r = body["result"]
    assert r["route"] == "pass" and r["prompt"] == BENIGN
    assert r["response"].strip() == calls[-1][2].text.strip()
    assert r["llm_calls"] == len(calls) == len(r["calls"]) == 1
    assert r["usage"]["completion_tokens"] == calls[0][2].usage.completion_tokens
    assert r["distribution_before"]["probs"]["safe"] > 0.5 and "trajectory" in r and r["reason"]
    assert [c["id"] for c in body["categories"]][:2] == ["safe", "S1"]
    assert body["latency_s"] >= r["latency_s"] > 0
    recent = httpx.get(f"{lance_http.url}/v1/lance/recent?limit=1", headers=AUTH, timeout=30).json()
    (row,) = recent["data"]
    assert row["endpoint"] == "audit" and row["route"] == "pass" and row["prompt"] is None
    assert row["llm_calls"] == 1 and row["latency_s"] >= row["llm_s"] > 0
    assert recent["log_prompts"] is False and recent["capacity"] == 100


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": [{"role": "user", "content": BENIGN}], "stream": True}, "does not stream"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "non-empty user message"),
        ({"prompt": BENIGN}, "messages"),
    ],
)
def test_bad_audit_bodies_are_400s_that_say_why(lance_http: ThreadServer, body: dict, needle: str) -> None:
    resp = httpx.post(f"{lance_http.url}/v1/lance/audit", json=body, headers=AUTH, timeout=30)
    assert resp.status_code == 400, resp.text
    assert needle in resp.json()["error"]["message"]


def test_bad_recent_limit_is_a_400(lance_http: ThreadServer) -> None:
    resp = httpx.get(f"{lance_http.url}/v1/lance/recent?limit=0", headers=AUTH, timeout=30)
    assert resp.status_code == 400 and "limit" in resp.text


@pytest.fixture(scope="module")
def open_http(lance_pipeline: Lance) -> Iterator[ThreadServer]:
    """No keys, prompt logging on, room for 2 records."""
    config = ServerConfig(max_tokens_cap=MAX_TOKENS, log_prompts=True, recent_requests=2)
    with ThreadServer(create_app(lance_pipeline, config)) as server:
        yield server


def test_chat_requests_are_recorded_with_their_prompt_when_logging_is_on(open_http: ThreadServer) -> None:
    assert chat(open_http.url, BENIGN).status_code == 200
    resp = httpx.get(f"{open_http.url}/v1/lance/recent", timeout=30).json()
    assert resp["capacity"] == 2 and resp["log_prompts"] is True
    row = resp["data"][0]
    assert (row["endpoint"], row["status"], row["route"], row["prompt"]) == ("chat", 200, "pass", BENIGN)
    assert row["top"] == "safe" and row["categories"] == [] and row["total_tokens"] > 0


def test_a_failed_request_is_recorded_with_its_status(lance_pipeline: Lance) -> None:
    # request_timeout far below one model call: the 504 path, caused for real
    config = ServerConfig(max_tokens_cap=MAX_TOKENS, request_timeout=0.01)
    with ThreadServer(create_app(lance_pipeline, config)) as server:
        assert chat(server.url, BENIGN).status_code == 504
        (row,) = httpx.get(f"{server.url}/v1/lance/recent", timeout=30).json()["data"]
        # the timed-out pipeline still runs in its thread: let it end so later tests see no stray call
        while httpx.get(f"{server.url}/health", timeout=30).json()["in_flight"]:
            time.sleep(0.1)
    assert row["status"] == 504 and row["route"] is None and "took longer" in row["error"]
    assert row["prompt"] is None


def test_ui_off_serves_neither_page_nor_data(lance_pipeline: Lance) -> None:
    with ThreadServer(create_app(lance_pipeline, ServerConfig(ui=False))) as server:
        for path in ("/ui", "/ui/audit.js", "/v1/lance/recent"):
            assert httpx.get(f"{server.url}{path}", timeout=30).status_code == 404, path
        assert httpx.post(f"{server.url}/v1/lance/audit", json={}, timeout=30).status_code == 404
    with ThreadServer(create_app(lance_pipeline, ServerConfig(ui=False, api_keys=(KEY,)))) as server:
        assert httpx.get(f"{server.url}/ui", timeout=30).status_code == 401  # not public when off


def test_page_files_are_served_from_the_package(lance_http: ThreadServer) -> None:
    for path, media in (("/ui", "text/html"), ("/ui/audit.js", "text/javascript"), ("/ui/audit.css", "text/css")):
        resp = httpx.get(f"{lance_http.url}{path}", timeout=30)  # public even with keys set: code, no data
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(media), path
        assert "default-src 'none'" in resp.headers["content-security-policy"]
    slash = httpx.get(f"{lance_http.url}/ui/", timeout=30)
    assert slash.status_code == 307 and slash.headers["location"] == "/ui"
    assert "://" not in httpx.get(f"{lance_http.url}/ui", timeout=30).text  # nothing from another origin


def test_audit_without_the_pipeline_is_a_501(recorder: RecordingChatModel) -> None:
    with ThreadServer(create_app(PassthroughResponder(recorder))) as server:
        before = len(recorder.calls)
        resp = httpx.post(
            f"{server.url}/v1/lance/audit", json={"messages": [{"role": "user", "content": BENIGN}]}, timeout=30
        )
        assert resp.status_code == 501 and "needs the LANCE pipeline" in resp.text
        assert len(recorder.calls) == before


def test_lance_serve_flag_and_setting_switch_the_page(tmp_path: Path) -> None:
    # ``server.ui: true`` in the YAML, overridden by --no-ui: the flag wins, as every serve flag does
    config = {"backend": {"n_threads": 1, "max_tokens": 8}, "server": {"ui": True}}
    proc = LanceServeProcess(tmp_path, config, "--no-ui")
    try:
        proc.wait_ready()
        assert httpx.get(f"{proc.url}/ui", timeout=30).status_code == 404
        assert httpx.get(f"{proc.url}/health", timeout=30).status_code == 200
    finally:
        proc.stop()
    assert "audit page:" not in proc.log()
