"""Upstream faults and overload against real servers.

* upstream down: a real llama.cpp server process, killed mid-session;
* upstream slow: the real llama.cpp server behind a 50 ms backend timeout;
* upstream garbage: a tiny real HTTP server answering 200 with a non-JSON body
  (a fault no real model server produces on demand, hence the stand-in);
* overload: the real pipeline with one slot and no queue.

In every case the client gets an OpenAI error object with 429/502/504 and the
server keeps answering ``/health`` and later requests.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_helpers import KEY, ThreadServer, make_settings

from lance.backends.local_server import LocalLlamaServer as LlamaUpstream

from lance.backends.local_server import free_port
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.lance import Lance
from lance.server.app import create_app
from lance.config.server import ServerConfig

AUTH = {"Authorization": f"Bearer {KEY}"}
ASK = {"model": "lance", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def proxy_for(base_url: str, lance_pipeline: Lance, **http: Any) -> tuple[ThreadServer, Lance]:
    """A proxy whose target is the OpenAI-compatible server at ``base_url``; assessor shared with the session."""
    opts: dict[str, Any] = {"prompt_format": "completion", "max_retries": 0, "timeout": 60.0} | http
    target = OpenAICompatChatModel(base_url, "gemma-3-270m", **opts)
    # the per-request parameters carry backend.timeout, so it must match the client's
    settings = make_settings(timeout=opts["timeout"])
    lance = Lance(settings, target=target, refiner=target, assessor=lance_pipeline.pipeline.assessor)
    return ThreadServer(create_app(lance, ServerConfig(api_keys=(KEY,), expose_risk=True))), lance


def assert_upstream_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == code
    assert "127.0.0.1" not in err["message"]  # no internal addresses without debug


def test_killed_upstream_gives_502_and_the_server_keeps_serving(lance_pipeline: Lance) -> None:
    upstream = LlamaUpstream(n_threads=1).start()
    server, _ = proxy_for(upstream.base_url, lance_pipeline)
    try:
        with server:
            ok = httpx.post(f"{server.url}/v1/chat/completions", json=ASK | {"max_tokens": 8}, headers=AUTH, timeout=120)
            assert ok.status_code == 200, ok.text  # the setup works before the fault

            assert upstream.proc is not None
            upstream.proc.kill()
            upstream.proc.wait()

            for body in (ASK, ASK | {"stream": True}):
                resp = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=AUTH, timeout=120)
                assert_upstream_error(resp, 502, "upstream_unavailable")
                assert resp.headers["content-type"].startswith("application/json")
            health = httpx.get(f"{server.url}/health", timeout=10)
            assert health.status_code == 200 and health.json()["in_flight"] == 0
            # the assessor is local: risk assessment still works with the upstream gone
            assess = httpx.post(f"{server.url}/v1/lance/assess", json={"input": "hello"}, headers=AUTH, timeout=60)
            assert assess.status_code == 200
    finally:
        upstream.stop()


def test_slow_upstream_gives_504(lance_pipeline: Lance) -> None:
    with LlamaUpstream(n_threads=1) as upstream, proxy_for(upstream.base_url, lance_pipeline, timeout=0.05)[0] as server:
        resp = httpx.post(
            f"{server.url}/v1/chat/completions", json=ASK | {"max_tokens": 200}, headers=AUTH, timeout=120
        )
        assert_upstream_error(resp, 504, "upstream_timeout")
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


class _Garbage(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b"<html>upstream proxy error</html>"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def garbage_upstream() -> Iterator[str]:
    port = free_port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Garbage)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/v1"
    srv.shutdown()


def test_garbage_from_upstream_gives_502(lance_pipeline: Lance, garbage_upstream: str) -> None:
    server, _ = proxy_for(garbage_upstream, lance_pipeline)
    with server:
        resp = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
        assert_upstream_error(resp, 502, "upstream_bad_response")
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


def test_overload_gives_429_from_the_bounded_queue(lance_pipeline: Lance) -> None:
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_concurrency=1, max_queue=0))
    with ThreadServer(app) as server:
        first: dict[str, httpx.Response] = {}
        worker = threading.Thread(
            target=lambda: first.update(
                r=httpx.post(f"{server.url}/v1/chat/completions", json=ASK | {"max_tokens": 48}, headers=AUTH, timeout=300)
            )
        )
        worker.start()
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/health", timeout=5).json()["in_flight"] < 1:
            assert time.monotonic() < deadline, "the first request never started"
            time.sleep(0.005)
        second = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
        worker.join(timeout=300)
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "server_busy" and second.headers["retry-after"] == "1"
        assert first["r"].status_code == 200  # the admitted request was unaffected


def test_request_timeout_gives_504(lance_pipeline: Lance) -> None:
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), request_timeout=0.01))
    with ThreadServer(app) as server:
        resp = httpx.post(f"{server.url}/v1/chat/completions", json=ASK, headers=AUTH, timeout=60)
        assert resp.status_code == 504 and resp.json()["error"]["code"] == "timeout"
        # out of budget, the pipeline stops before its next stage and gives its slot back
        # (tests/server/test_deadlines.py checks a generation and retries being cut short)
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/health", timeout=10).json()["in_flight"] != 0:
            assert time.monotonic() < deadline, "the timed-out pipeline kept its slot"
            time.sleep(0.05)
