"""Real servers for the hardening benches (bench/fuzz_server.py, bench/soak_server.py).

* ``Upstream``: llama-cpp-python's OpenAI-compatible server on the embedded GGUF, on a fixed
  loopback port, that can be SIGKILLed and started again on the same port (an outage);
* ``LanceServe``: ``python -m lance --config CFG serve`` as a child process in front of it (the
  real pipeline: LANCE's gate and its own refiner, in the server process), its stderr (uvicorn
  and the decision records) in a log file;
* ``decision_records``: the JSON decision lines of that log, one per chat request;
* ``rss_kib``: a process's resident set size, from ``/proc``.

Not imported by the package or the tests: the benches are opt-in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lance.backends.local_server import LocalLlamaServer, free_port, stop_process, wait_until_serving  # noqa: E402

#: The upstream's model alias; ``lance serve`` sends it as the model name.
ALIAS = "gemma-3-270m"


class Upstream:
    """The real local model server, restartable on the same port."""

    def __init__(self, *, threads: int = 2, port: int | None = None) -> None:
        self.threads = threads
        self.port = port or free_port()
        self.server: LocalLlamaServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.server.proc.pid if self.server and self.server.proc else None

    def start(self) -> Upstream:
        self.server = LocalLlamaServer(port=self.port, n_threads=self.threads, model_alias=ALIAS, startup_timeout=600).start()
        return self

    def alive(self) -> bool:
        return bool(self.server and self.server.proc and self.server.proc.poll() is None)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight requests see their connection drop."""
        assert self.server is not None and self.server.proc is not None
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait()
        self.server.stop()  # closes its log file; the process is already gone
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def serve_config(upstream: Upstream, *, server: dict[str, Any], threads: int = 2, **extra: Any) -> dict[str, Any]:
    """Settings for ``lance serve`` in front of ``upstream``: the target over HTTP, the refiner LANCE's own."""
    return {
        "backend": {
            "kind": "openai",
            "base_url": upstream.base_url,
            "model": ALIAS,
            # the embedded model is a base model: a completion transcript, as the in-process backend uses
            "prompt_format": "completion",
            # the in-process refiner (LANCE's own model) reads its threads from here
            "n_threads": threads,
        },
        "server": server,
        **extra,
    }


class LanceServe:
    """``lance serve`` as a child process, ready when ``/health`` answers."""

    def __init__(self, workdir: Path, config: dict[str, Any], *, name: str = "lance") -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / f"{name}-{self.port}.yaml"
        cfg.write_text(yaml.safe_dump(config))
        self.log_path = workdir / f"{name}-{self.port}.log"
        cmd = [sys.executable, "-m", "lance", "--config", str(cfg), "serve", "--port", str(self.port), "--log-level", "warning"]
        # keys come from the config alone; OMP threads for the encoder are set by server.torch_threads
        env = os.environ | {"HF_HUB_OFFLINE": "1", "LANCE_API_KEYS": ""}
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 600) -> LanceServe:
        state = wait_until_serving(self.proc, f"{self.url}/health", timeout)
        if state != "ready":
            self.stop()
            raise SystemExit(f"lance serve {state} ({self.proc.returncode}); log:\n{self.log_path.read_text()[-3000:]}")
        return self

    def stop(self) -> None:
        stop_process(self.proc, timeout=60)
        self._log.close()


def decision_records(log_path: Path) -> list[dict[str, Any]]:
    """The ``lance.decision`` JSON lines of a ``lance serve`` log (other lines are uvicorn's)."""
    out = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"event":"lance.decision"' in line:
            out.append(json.loads(line))
    return out


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    """``GET url/metrics``, parsed by prometheus-client: unlabelled sample name -> value (gauges)."""
    from prometheus_client.parser import text_string_to_metric_families

    resp = httpx.get(f"{url}/metrics", headers=headers or {}, timeout=30)
    resp.raise_for_status()
    return {
        s.name: s.value for family in text_string_to_metric_families(resp.text) for s in family.samples if not s.labels
    }


def load_average() -> str:
    """The 1/5/15-minute load averages (what the machine was doing besides the bench)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def now_s() -> float:
    return time.monotonic()
