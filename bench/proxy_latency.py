"""Proxy latency and throughput: ``lance serve`` vs calling the same upstream directly.

One run starts a real llama.cpp server (the embedded model) as the upstream and
two proxies in front of it: ``lance serve`` (the full LANCE pipeline) and
``lance serve --passthrough`` (HTTP layer only, to separate the two costs).
Benign prompts (Vicuna bench) are sent at each concurrency level, in
alternating rounds so that drift in machine load hits every variant alike.

    direct       the target call the proxy would make, made by the client itself
                 (same transcript, same parameters: greedy, small max_tokens)
    passthrough  client -> lance serve --passthrough -> upstream
    lance        client -> lance serve -> assess, route -> upstream

Run:  .venv/bin/python bench/proxy_latency.py [--requests 12] [--max-tokens 24] [--concurrency 1 4 16]
Prints one table plus the p50 ratios; ``--out FILE`` also writes the numbers as JSON.
Target: lance/direct <= 1.10 at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lance.backends.local_server import LocalLlamaServer, free_port  # noqa: E402
from lance.backends.openai_compat import OpenAICompatChatModel  # noqa: E402

VARIANTS = ("direct", "passthrough", "lance")


def benign_prompts(n: int) -> list[str]:
    from lance.datasets.benign import load_vicuna_bench

    texts = [r.text for r in load_vicuna_bench() if len(r.text) < 300]
    return texts[:n]


class Proxy:
    """``lance serve`` as a child process in front of ``upstream``."""

    def __init__(self, upstream: LocalLlamaServer, workdir: Path, *, passthrough: bool, threads: int) -> None:
        self.port = free_port()
        cfg = {
            "backend": {
                "kind": "openai",
                "base_url": upstream.base_url,
                "model": upstream.model_alias,
                "prompt_format": "completion",
                "max_retries": 0,
                "timeout": 600,
            },
            "server": {"max_concurrency": 16, "max_queue": 256},
        }
        path = workdir / f"proxy-{self.port}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "lance", "--config", str(path), "serve", "--port", str(self.port), "--log-level", "warning"]
        if passthrough:
            cmd.append("--passthrough")
        # torch threads for the encoder; the upstream has its own
        env = os.environ | {"OMP_NUM_THREADS": str(threads), "LANCE_API_KEYS": ""}
        self.log = (workdir / f"proxy-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"lance serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit("lance serve did not come up in 300 s")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


async def one_round(send: Any, prompts: list[str], concurrency: int) -> tuple[list[float], float, list[Any]]:
    """Send every prompt with at most ``concurrency`` in flight; per-request latencies and wall time."""
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    meta: list[Any] = []

    async def go(p: str) -> None:
        async with sem:
            t = time.perf_counter()
            m = await send(p)
            lat.append(time.perf_counter() - t)
            meta.append(m)

    t0 = time.perf_counter()
    await asyncio.gather(*(go(p) for p in prompts))
    return lat, time.perf_counter() - t0, meta


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    prompts = benign_prompts(args.requests)
    work = Path(tempfile.mkdtemp(prefix="lance-bench-"))
    upstream = LocalLlamaServer(n_threads=args.threads).start()
    proxies: dict[str, Proxy] = {}
    try:
        proxies["passthrough"] = Proxy(upstream, work, passthrough=True, threads=args.proxy_threads)
        proxies["lance"] = Proxy(upstream, work, passthrough=False, threads=args.proxy_threads)
        direct = OpenAICompatChatModel(
            upstream.base_url, upstream.model_alias, prompt_format="completion", max_retries=0, timeout=600
        )
        clients = {k: openai.AsyncOpenAI(base_url=p.base_url, api_key="none", max_retries=0, timeout=600) for k, p in proxies.items()}
        gen: dict[str, Any] = {"temperature": 0.0, "max_tokens": args.max_tokens, "seed": 0}

        async def send_direct(p: str) -> Any:
            out = await direct.agenerate(p, **gen)
            return ("pass", out.usage.completion_tokens)

        def send_proxy(name: str) -> Any:
            async def send(p: str) -> Any:
                r = await clients[name].chat.completions.create(
                    model="lance", messages=[{"role": "user", "content": p}], **gen
                )
                lance = (r.model_extra or {}).get("lance", {})
                return (lance.get("route", "?"), r.usage.completion_tokens if r.usage else 0)

            return send

        senders = {"direct": send_direct, "passthrough": send_proxy("passthrough"), "lance": send_proxy("lance")}
        # warm-up: every path once (connections, caches)
        for s in senders.values():
            await s(prompts[0])

        results: dict[str, Any] = {}
        for c in args.concurrency:
            lat: dict[str, list[float]] = {v: [] for v in VARIANTS}
            wall: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
            metas: dict[str, list[Any]] = {v: [] for v in VARIANTS}
            batch = (prompts * (1 + max(1, 2 * c) // len(prompts)))[: max(len(prompts), 2 * c)]
            for r in range(args.rounds):
                order = VARIANTS if r % 2 == 0 else tuple(reversed(VARIANTS))
                for v in order:
                    ls, w, m = await one_round(senders[v], batch, c)
                    lat[v] += ls
                    wall[v] += w
                    metas[v] += m
            n = len(batch) * args.rounds
            cell: dict[str, Any] = {}
            for v in VARIANTS:
                cell[v] = {
                    "n": n,
                    "p50_s": statistics.median(lat[v]),
                    "p95_s": pct(lat[v], 0.95),
                    "throughput_rps": n / wall[v],
                    "routes": dict(Counter(m[0] for m in metas[v])),
                    "completion_tokens": sum(m[1] for m in metas[v]),
                }
            # Diagnostic, not the target: LANCE's latency on the requests it routed ``pass``
            # (at concurrency > 1 they still queue behind the extra calls of the others).
            passed = [t for t, m in zip(lat["lance"], metas["lance"]) if m[0] == "pass"]
            cell["lance"]["pass_p50_s"] = statistics.median(passed) if passed else None
            for v in ("passthrough", "lance"):
                cell[f"{v}_p50_ratio"] = cell[v]["p50_s"] / cell["direct"]["p50_s"]
                cell[f"{v}_throughput_ratio"] = cell[v]["throughput_rps"] / cell["direct"]["throughput_rps"]
            results[str(c)] = cell
            print_cell(c, cell)
        return {
            "requests_per_round": len(prompts),
            "rounds": args.rounds,
            "max_tokens": args.max_tokens,
            "threads": args.threads,
            "proxy_threads": args.proxy_threads,
            "cpu_count": os.cpu_count(),
            "results": results,
        }
    finally:
        for p in proxies.values():
            p.stop()
        upstream.stop()


def print_cell(c: int, cell: dict[str, Any]) -> None:
    print(f"\nconcurrency {c}  (n={cell['direct']['n']} per variant)")
    print(f"  {'variant':<12}{'p50 s':>9}{'p95 s':>9}{'req/s':>9}  routes / completion tokens")
    for v in VARIANTS:
        d = cell[v]
        print(f"  {v:<12}{d['p50_s']:>9.3f}{d['p95_s']:>9.3f}{d['throughput_rps']:>9.2f}  {d['routes']} / {d['completion_tokens']}")
    if cell["lance"]["pass_p50_s"] is not None:
        print(f"  lance, pass-routed requests only: p50 {cell['lance']['pass_p50_s']:.3f} s"
              f" ({cell['lance']['pass_p50_s'] / cell['direct']['p50_s']:.3f} x direct; diagnostic)")
    print(
        f"  p50 ratio vs direct: passthrough {cell['passthrough_p50_ratio']:.3f}, lance {cell['lance_p50_ratio']:.3f}"
        f"   throughput ratio: passthrough {cell['passthrough_throughput_ratio']:.3f}, lance {cell['lance_throughput_ratio']:.3f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=12, help="distinct benign prompts (a round sends max(this, 2*concurrency))")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per variant and concurrency")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for the upstream llama.cpp server")
    ap.add_argument("--proxy-threads", type=int, default=1, help="torch threads in each proxy (the encoder)")
    ap.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = ap.parse_args()
    out = asyncio.run(run(args))
    print("\nsummary (p50 latency ratio lance/direct; target <= 1.10):")
    for c, cell in out["results"].items():
        print(f"  concurrency {c:>2}: lance {cell['lance_p50_ratio']:.3f}   passthrough {cell['passthrough_p50_ratio']:.3f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
