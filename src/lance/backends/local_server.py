"""Start llama-cpp-python's OpenAI-compatible server as a child process.

Used by tests and benchmarks to exercise the HTTP backend against a real
server on a free loopback port, and handy for trying the proxy locally.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Literal

import httpx

from lance.assets import default_gguf_path
from lance.errors import BackendUnavailable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM a child, wait ``timeout`` seconds for it, then SIGKILL it (no zombie left)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, timeout: float) -> Literal["ready", "exited", "timeout"]:
    """Poll ``url`` until it answers 200, the child process exits, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited"
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return "ready"
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return "timeout"


class LocalLlamaServer:
    """``python -m llama_cpp.server`` on a GGUF (default: the embedded model)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        model_alias: str = "gemma-3-270m",
        startup_timeout: float = 180.0,
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_gguf_path()
        self.host = host
        self.port = port or free_port(host)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or (os.cpu_count() or 1)
        self.model_alias = model_alias
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> LocalLlamaServer:
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.model_alias,
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
        ]  # fmt: skip
        # The server logs a lot; an unread pipe would fill up and stall it, so log to a file.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        state = wait_until_serving(self.proc, f"{self.base_url}/models", self.startup_timeout)
        if state == "ready":
            return self
        if state == "exited":
            self._log.seek(0)
            err = self._log.read().decode(errors="replace")[-500:]
            raise BackendUnavailable(f"llama.cpp server exited with {self.proc.returncode}: {err}")
        self.stop()
        raise BackendUnavailable(f"llama.cpp server did not come up within {self.startup_timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
