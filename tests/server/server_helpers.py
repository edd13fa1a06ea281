"""Helpers for the server tests: real uvicorn servers on loopback, in a thread or a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lance.backends import ChatModel, Completion, GenerateParams, Message, to_messages
from lance.backends.local_server import free_port, stop_process, wait_until_serving
from lance.config import LanceSettings, load_settings
from lance.backends.wrappers import DelegatingChatModel

KEY = "sk-lance-test"
#: Small answers keep the real model fast; requests may ask for less, not more.
MAX_TOKENS = 48


class ThreadServer:
    """uvicorn serving ``app`` in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class LanceServeProcess:
    """``python -m lance --config CFG serve`` as a child process, ready when /health answers."""

    def __init__(self, tmp: Path, config: dict[str, Any], *args: str) -> None:
        self.port = free_port()
        cfg = tmp / f"lance-{self.port}.yaml"
        cfg.write_text(yaml.safe_dump(config))
        self.log_path = tmp / f"lance-{self.port}.log"
        cmd = [sys.executable, "-m", "lance", "--config", str(cfg), "serve", "--port", str(self.port), *args]
        env = os.environ | {"HF_HUB_OFFLINE": "1", "LANCE_API_KEYS": ""}
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout: float = 240) -> LanceServeProcess:
        state = wait_until_serving(self.proc, f"{self.url}/health", timeout)
        if state == "ready":
            return self
        if state == "exited":
            raise RuntimeError(f"lance serve exited with {self.proc.returncode}:\n{self.log()}")
        raise RuntimeError(f"lance serve not ready after {timeout}s:\n{self.log()}")

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)
        self._log.close()


class RecordingChatModel(DelegatingChatModel):
    """The real model plus a record of every call (a spy, not a fake)."""

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner)
        self.calls: list[tuple[list[Message], GenerateParams, Completion]] = []

    def generate(self, messages: Any, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        out = self.inner.generate(messages, params, **overrides)
        self.calls.append((to_messages(messages), self.inner._params(params, overrides), out))
        return out

    async def agenerate(self, messages: Any, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        out = await self.inner.agenerate(messages, params, **overrides)
        self.calls.append((to_messages(messages), self.inner._params(params, overrides), out))
        return out


def make_settings(**backend: Any) -> LanceSettings:
    over = {"backend": {"n_threads": 2, "max_tokens": MAX_TOKENS, "temperature": 0.0, **backend}}
    return load_settings(None, over)


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``GET url/metrics`` parsed by prometheus-client's own parser: (sample name, labels) -> value."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    resp = httpx.get(f"{url}/metrics", headers=headers or {}, timeout=30)
    resp.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


class DecisionLines:
    """Collects the JSON decision lines of ``lance.server.decisions`` (a real logging handler)."""

    def __init__(self) -> None:
        import logging

        from lance.server.decision_log import LOGGER

        self.lines: list[str] = []
        self.logger = logging.getLogger(LOGGER)
        outer = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                outer.lines.append(record.getMessage())

        self.handler = _Handler(level=logging.INFO)

    def __enter__(self) -> DecisionLines:
        import logging

        self._level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self._level)

    def records(self, request_id: str | None = None) -> list[dict[str, Any]]:
        import json

        out = [json.loads(line) for line in self.lines]
        return [r for r in out if request_id is None or r["request_id"] == request_id]


@dataclass
class Reply:
    """One scripted answer of ``ScriptedUpstream``: after ``delay`` seconds, ``status`` with ``headers`` and ``body``."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    #: ``None``: a well-formed completion (chat or text, whichever endpoint was called).
    body: dict[str, Any] | None = None


class ScriptedUpstream:
    """A real OpenAI-compatible HTTP server on loopback (FastAPI under uvicorn) answering from a script.

    For faults a model server cannot be made to produce on demand: a 429 with ``Retry-After``, an
    answer slower than any timeout, a malformed body. Replies are used in order; the last one repeats.
    ``arrivals`` holds the ``time.monotonic()`` of every request it received.
    """

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply()]
        self.arrivals: list[float] = []
        app = FastAPI()

        async def answer(request: Request) -> JSONResponse:
            self.arrivals.append(time.monotonic())
            await request.body()
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
            if reply.delay:
                await asyncio.sleep(reply.delay)
            chat = request.url.path.endswith("/chat/completions")
            body = reply.body if reply.body is not None else _completion_body(chat, reply.status)
            return JSONResponse(body, status_code=reply.status, headers=reply.headers)

        app.add_api_route("/v1/chat/completions", answer, methods=["POST"])
        app.add_api_route("/v1/completions", answer, methods=["POST"])
        self.server = ThreadServer(app)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def __enter__(self) -> ScriptedUpstream:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def _completion_body(chat: bool, status: int) -> dict[str, Any]:
    if status >= 400:
        return {"error": {"message": f"scripted HTTP {status}", "type": "server_error", "param": None, "code": None}}
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    if chat:
        choice["message"] = {"role": "assistant", "content": "Paris is the capital of France."}
    else:
        choice["text"] = " Paris is the capital of France."
    return {
        "id": "cmpl-scripted", "object": "chat.completion" if chat else "text_completion", "created": 0,
        "model": "scripted", "choices": [choice], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def json_strings(value: Any) -> list[str]:
    """Every string inside decoded JSON (so a leak check cannot miss text hidden behind escapes)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []
