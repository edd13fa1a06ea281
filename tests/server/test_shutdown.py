"""Graceful shutdown of a real ``lance serve`` process: SIGTERM mid-request still answers it."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
import time
from pathlib import Path

import httpx
import pytest
from server_helpers import LanceServeProcess


@pytest.fixture()
def lance_serve(tmp_path: Path) -> Iterator[LanceServeProcess]:
    config = {"backend": {"n_threads": 2, "max_tokens": 48, "temperature": 0.0}, "server": {"graceful_timeout": 60}}
    proc = LanceServeProcess(tmp_path, config, "--log-level", "info")
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()


def test_sigterm_finishes_the_in_flight_request(lance_serve: LanceServeProcess) -> None:
    result: dict[str, httpx.Response] = {}
    body = {"model": "lance", "messages": [{"role": "user", "content": "Describe a sunny day in two sentences."}]}
    worker = threading.Thread(
        target=lambda: result.update(r=httpx.post(f"{lance_serve.url}/v1/chat/completions", json=body, timeout=300))
    )
    worker.start()
    deadline = time.monotonic() + 60
    while httpx.get(f"{lance_serve.url}/health", timeout=5).json()["in_flight"] < 1:
        assert time.monotonic() < deadline, "the request never started"
        time.sleep(0.005)

    lance_serve.terminate()  # SIGTERM while the pipeline is working on the request
    worker.join(timeout=300)
    code = lance_serve.proc.wait(timeout=120)

    resp = result["r"]
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"].strip()
    # uvicorn re-raises the signal it handled once shutdown is complete, so supervisors see SIGTERM
    assert code in (0, -signal.SIGTERM), lance_serve.log()
    log = lance_serve.log()
    assert "Shutting down" in log and "Finished server process" in log
    assert "Waiting for connections to close" in log  # the request really was in flight at SIGTERM
    # lance serve prints one decision record per chat request, under the id the client got, without the prompt
    lines = [json.loads(line) for line in lance_serve.log_path.read_text().splitlines() if line.startswith('{"event":"lance.decision"')]
    assert [(r["request_id"], r["status"]) for r in lines] == [(resp.headers["x-request-id"], 200)]
    assert lines[0]["prompt"] is None and "sunny" not in json.dumps(lines[0])
    with pytest.raises(httpx.ConnectError):  # and it no longer accepts connections
        httpx.get(f"{lance_serve.url}/health", timeout=5)
