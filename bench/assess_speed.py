"""Speed of ``assess``: single-prompt latency, batched throughput, LE head vs embedding time.

    .venv/bin/python bench/assess_speed.py [--n 200] [--batch 2000]

Targets (2 CPU cores): p50 <= 20 ms per prompt, >= 500 prompts/s batched, head <= 10% of
embedding time. The machine may be shared: numbers are what this run saw.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="single-prompt calls to time")
    ap.add_argument("--batch", type=int, default=2000, help="prompts in the batched run")
    args = ap.parse_args()
    from lance.assess.assessor import default_assessor
    from lance.datasets import load_dataset

    texts = [r.text for r in load_dataset("xstest")] + [r.text for r in load_dataset("alpaca_eval")]
    texts = [t for t in texts if t.strip()]
    a = default_assessor()
    a.assess(texts[:32])  # warm-up

    lat = []
    for i in range(args.n):
        t = time.perf_counter()
        a.assess([texts[i % len(texts)]])
        lat.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000

    batch = (texts * (args.batch // len(texts) + 1))[: args.batch]
    t = time.perf_counter()
    a.assess(batch)
    batched = time.perf_counter() - t

    t = time.perf_counter()
    emb = a.embed(batch)
    t_emb = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(5):
        a.head(emb)
    t_head = (time.perf_counter() - t) / 5

    print(f"single prompt ({args.n} calls): p50 {np.percentile(lat_ms, 50):.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms "
          f"(target p50 <= 20 ms: {np.percentile(lat_ms, 50) / 20:.2f}x of budget)")
    print(f"batched ({args.batch} prompts): {args.batch / batched:.0f} prompts/s (target >= 500: {args.batch / batched / 500:.2f}x)")
    print(f"embedding {t_emb * 1000:.0f} ms, LE head {t_head * 1000:.1f} ms for {args.batch} prompts: "
          f"head = {100 * t_head / t_emb:.2f}% of embedding time (target <= 10%)")


if __name__ == "__main__":
    main()
