"""Pipeline cost: LANCE vs the bare target (benign) and vs a TextGrad-style loop (harmful).

One run, one embedded model (Gemma 3 270M through llama.cpp), the real LE assessor:

1. Benign prompts (Vicuna bench): latency of ``Lance.respond`` vs calling the same target
   directly with the same messages and parameters (greedy, fixed max_tokens), alternating
   the order per prompt so machine-load drift hits both alike. Target: p50 ratio <= 1.05.
   Also checks that every benign prompt routed ``pass`` cost exactly one LLM call.
2. Harmful prompts (held-out test splits, ``lance.eval.items.harmful_mix``): LLM calls and
   tokens per prompt of LANCE vs the ``textgrad`` evaluation method (``lance.eval.baselines.TextGradRefine``) (LLM loss + LLM backward
   + LLM update per iteration, then the target), plus LANCE's routes and risk before/after.

Run:  .venv/bin/python bench/pipeline_cost.py [--benign 12] [--harmful 12] [--max-tokens 48] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def benign_prompts(n: int) -> list[str]:
    from lance.datasets.benign import load_vicuna_bench

    return [r.text for r in load_vicuna_bench() if len(r.text) < 300][:n]


def harmful_prompts(n: int) -> list[str]:
    from lance.eval.items import harmful_mix

    return [r.text for r in harmful_mix() if len(r.text) < 400][:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benign", type=int, default=12)
    ap.add_argument("--harmful", type=int, default=12)
    ap.add_argument("--max-tokens", type=int, default=48, help="target max_tokens (both arms)")
    ap.add_argument("--textgrad-iters", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="also write the numbers as JSON")
    args = ap.parse_args(argv)

    from lance import Lance
    from lance.assess.assessor import load_assessor
    from lance.backends.base import GenerateParams
    from lance.backends.llamacpp import LlamaCppChatModel
    from lance.config import LanceSettings
    from lance.eval.methods import EvalContext, textgrad

    settings = LanceSettings()
    model = LlamaCppChatModel(n_threads=args.threads)
    assessor = load_assessor(settings)
    lance = Lance(settings, assessor=assessor, target=model)
    params = GenerateParams(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    lance.respond("warm-up: what is 1+1?", params)  # load encoder, few-shot pool, caches
    model.generate("warm-up", params)

    # --- 1. benign latency
    direct_s, lance_s, ratios, calls_pass, routes = [], [], [], [], Counter()
    for i, p in enumerate(benign_prompts(args.benign)):
        order = ("direct", "lance") if i % 2 == 0 else ("lance", "direct")
        times: dict[str, float] = {}
        for arm in order:
            t0 = time.perf_counter()
            if arm == "direct":
                model.generate(p, params)
            else:
                r = lance.respond(p, params)
                routes[r.route] += 1
                if r.route == "pass":
                    calls_pass.append(r.llm_calls)
            times[arm] = time.perf_counter() - t0
        direct_s.append(times["direct"])
        lance_s.append(times["lance"])
        ratios.append(times["lance"] / times["direct"])
        print(f"benign {i + 1:2d}: direct {times['direct']:.2f}s  lance {times['lance']:.2f}s", file=sys.stderr)

    # --- 2. harmful cost
    tg = textgrad(EvalContext(settings, model, params, assessor=assessor), max_iters=args.textgrad_iters)
    lance_calls, lance_tokens, tg_calls, tg_tokens, h_routes = [], [], [], [], Counter()
    neut_calls, risk_drop, rows = [], [], []
    for i, p in enumerate(harmful_prompts(args.harmful)):
        r = lance.respond(p, params)
        t = asyncio.run(tg.arun(p, 0))
        h_routes[r.route] += 1
        lance_calls.append(r.llm_calls)
        lance_tokens.append(r.usage.total_tokens)
        tg_calls.append(t.calls)
        tg_tokens.append(t.usage.total_tokens)
        if r.route == "neutralize":
            neut_calls.append(r.llm_calls)
            assert r.distribution_after is not None
            risk_drop.append(r.distribution_before.risk - r.distribution_after.risk)
        rows.append({"prompt": p, "route": r.route, "lance_calls": r.llm_calls, "lance_tokens": r.usage.total_tokens,
                     "textgrad_calls": t.calls, "textgrad_tokens": t.usage.total_tokens,
                     "refined_prompt": r.refined_prompt, "risk_before": r.distribution_before.risk,
                     "risk_after": r.distribution_after.risk if r.distribution_after else None})
        print(f"harmful {i + 1:2d}: {r.route:10s} lance {r.llm_calls} calls/{r.usage.total_tokens} tok  "
              f"textgrad {t.calls} calls/{t.usage.total_tokens} tok", file=sys.stderr)

    res: dict[str, Any] = {
        "benign": {
            "n": len(ratios),
            "routes": dict(routes),
            "direct_p50_s": statistics.median(direct_s),
            "lance_p50_s": statistics.median(lance_s),
            "ratio_p50": statistics.median(ratios),
            "ratio_of_p50": statistics.median(lance_s) / statistics.median(direct_s),
            "ratio_p90": pct(ratios, 0.9),
            "pass_calls": dict(Counter(calls_pass)),
        },
        "harmful": {
            "n": len(lance_calls),
            "routes": dict(h_routes),
            "lance_calls_mean": statistics.fmean(lance_calls),
            "lance_calls_median": statistics.median(lance_calls),
            "lance_tokens_mean": statistics.fmean(lance_tokens),
            "neutralized_calls_median": statistics.median(neut_calls) if neut_calls else None,
            "neutralized_risk_drop_mean": statistics.fmean(risk_drop) if risk_drop else None,
            "textgrad_calls_mean": statistics.fmean(tg_calls),
            "textgrad_calls_median": statistics.median(tg_calls),
            "textgrad_tokens_mean": statistics.fmean(tg_tokens),
        },
        "rows": rows,
    }
    b, h = res["benign"], res["harmful"]
    print("\n== benign prompts: LANCE vs direct target ==")
    print(f"n={b['n']} routes={b['routes']} calls on pass route={b['pass_calls']}")
    print(f"p50 latency: direct {b['direct_p50_s']:.3f}s, lance {b['lance_p50_s']:.3f}s")
    print(f"lance/direct ratio: p50 {b['ratio_p50']:.3f} (ratio of p50s {b['ratio_of_p50']:.3f}), p90 {b['ratio_p90']:.3f}"
          f"  [target <= 1.05 at p50]")
    print("\n== harmful prompts: LLM calls and tokens per prompt ==")
    print(f"n={h['n']} LANCE routes={h['routes']}")
    print(f"LANCE:    calls mean {h['lance_calls_mean']:.2f} median {h['lance_calls_median']}, tokens mean {h['lance_tokens_mean']:.0f}"
          f"; neutralized median calls {h['neutralized_calls_median']} [target <= 3]")
    print(f"TextGrad: calls mean {h['textgrad_calls_mean']:.2f} median {h['textgrad_calls_median']}, tokens mean {h['textgrad_tokens_mean']:.0f}")
    if h["neutralized_risk_drop_mean"] is not None:
        print(f"LANCE neutralized: mean risk drop {h['neutralized_risk_drop_mean']:.3f}")
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))
    lance.close()
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
