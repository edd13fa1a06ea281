"""LANCE's refiner on held-out prompts, through the real pipeline: how often does a rewrite reach the target?

Held-out = never trained on (data/refiner_train keeps to train splits and drops XSTest):

- ``harmful``: unsafe prompts of the test splits (``lance.eval.items.harmful_mix()``, in its order);
- ``xstest_flagged``: XSTest's safe prompts the gate does not pass (file order);
- ``benign_flagged``: safe prompts of the benign sets' *test* splits the gate does not pass,
  taken round-robin across the sets (seeded).

Each prompt is routed as the pipeline routes it (``decide_route`` plus the bright lines); a
``neutralize``-routed one is refined by ``Lance().refine`` (LANCE's own model: the embedded
Gemma 3 270M + the shipped adapter) and, beside it, by the prompted base-model refiner
(``Lance(LanceSettings(refiner={"kind": "llamacpp"}))``: few-shot, the same search). A rewrite
counts as **accepted** when the refiner accepted it *and* it passes the pipeline's send bar
(``lance.respond.stages.send_bar``), i.e. it would reach the target.

Every accepted rewrite is also scored by the gate (its p(safe)) and by the shipped offline safety
judge on (original prompt, rewrite) — a judge trained on *answers*, so its score on a request is
a weak signal (docs/refiner.md says what each can tell).

    python bench/refiner_acceptance.py --harmful 60 --xstest 40 --benign 30 \\
        --out docs/results/refiner_acceptance.jsonl

``--base-limit N`` runs the base refiner on the first N prompts of each set only (its few-shot
prompts are ~10x longer, so it is the slow half of the run).

``--own-only-harmful N`` adds N further harmful prompts (after the first ``--harmful``) refined
by LANCE's own model only, to collect more accepted rewrites for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import mean
from typing import Any

#: Benign sets whose test-split safe prompts make ``benign_flagged`` (refusal_direction is sampled).
BENIGN_SETS: tuple[str, ...] = (
    "coconot", "refusal_direction", "alpaca_eval", "self_instruct_user_oriented", "arena_hard", "vicuna_bench", "mt_bench",
)
#: At most this many test prompts per benign set go to the gate (refusal_direction has 6,436).
BENIGN_POOL = 150


def _route(text: str, dist: Any, pipe: Any) -> str:
    """The pipeline's route for a prompt (``RouteStage``: the rules, then the bright lines)."""
    from lance.assess.bright_lines import minor_sexual_content
    from lance.assess.routing import decide_route

    route = decide_route(dist, pipe.taxonomy, pipe.config).route
    if route == "neutralize" and minor_sexual_content(text) is not None:
        return "refuse"
    return route


def _benign_flagged(pipe: Any, n: int, seed: int) -> list[tuple[str, str]]:
    from lance.datasets import load_dataset

    pools: list[list[tuple[str, str]]] = []
    for name in BENIGN_SETS:
        recs = [r.text for r in load_dataset(name) if r.split == "test" and r.label == "safe"]
        random.Random(f"{seed}:{name}").shuffle(recs)
        recs = recs[:BENIGN_POOL]
        dists = pipe.assessor.assess(recs)
        pools.append([(name, t) for t, d in zip(recs, dists) if _route(t, d, pipe) != "pass"])
        print(f"[benign] {name}: {len(pools[-1])} of {len(recs)} test prompts flagged", file=sys.stderr)
    out: list[tuple[str, str]] = []
    for i in range(max(len(p) for p in pools)):
        out += [p[i] for p in pools if i < len(p)]
    return out[:n]


def _refined(lance: Any, prompt: str) -> dict[str, Any]:
    """One refinement through the pipeline, and whether its rewrite would be sent to the target."""
    from lance.respond.stages import send_bar

    pipe = lance.pipeline
    res = lance.refine(prompt)
    acc = res.trajectory.accepted
    why = "no rewrite accepted by the refiner" if acc is None else send_bar(acc.prompt, acc.distribution, pipe.taxonomy, pipe.config)
    cands = [c for s in res.trajectory.steps[1:] for c in s.candidates]
    return {
        "rewrite": res.refined_prompt,
        "p_safe": None if acc is None else round(acc.distribution.p_safe, 3),
        "similarity": None if acc is None else round(acc.similarity, 3),
        "accepted": acc is not None and why is None,
        "why_not": why,
        "candidates": [{"text": c.text, "invalid": c.invalid, "p_safe": c.p_safe, "similarity": c.similarity} for c in cands],
        "calls": res.llm_calls,
        "tokens": res.usage.total_tokens,
        "latency_s": round(res.latency_s, 3),
    }


def _summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Per-refiner numbers over neutralise-routed rows; ``key`` is ``own`` or ``base``."""
    done = [r[key] for r in rows if r.get(key)]
    acc = [r for r in done if r["accepted"]]
    s: dict[str, Any] = {"refined": len(done), "accepted": len(acc),
                         "acceptance": round(len(acc) / len(done), 3) if done else None}
    if acc:
        s["p_safe_accepted_mean"] = round(mean(r["p_safe"] for r in acc), 3)
        s["similarity_accepted_mean"] = round(mean(r["similarity"] for r in acc), 3)
    if done:
        s["calls_per_prompt"] = round(mean(r["calls"] for r in done), 2)
        s["tokens_per_prompt"] = round(mean(r["tokens"] for r in done), 1)
        s["latency_s_per_prompt"] = round(mean(r["latency_s"] for r in done), 2)
    judged = [r for r in acc if "judge_unsafe" in r]
    if judged:
        s["judge_unsafe_accepted"] = sum(r["judge_unsafe"] for r in judged)
    return s


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harmful", type=int, default=60, help="harmful test-split prompts (harmful_mix order)")
    ap.add_argument("--xstest", type=int, default=40, help="XSTest safe prompts the gate flags")
    ap.add_argument("--benign", type=int, default=30, help="benign test-split prompts the gate flags")
    ap.add_argument("--own-only-harmful", type=int, default=0, help="further harmful prompts, LANCE's own model only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-limit", type=int, default=None,
                    help="the base refiner runs on the first N prompts of each set only (it is ~3x slower)")
    ap.add_argument("--no-base", action="store_true", help="skip the prompted base-model refiner")
    ap.add_argument("--out", type=Path, default=None, help="JSONL of every prompt and rewrite (overwritten)")
    args = ap.parse_args(argv)

    from lance import Lance
    from lance.config import LanceSettings
    from lance.datasets import load_dataset
    from lance.eval.items import harmful_mix
    from lance.judges.safety import default_safety_judge

    own = Lance()
    pipe = own.pipeline
    shared = {"assessor": pipe.assessor, "encoder": pipe.encoder, "taxonomy": pipe.taxonomy, "config": pipe.config,
              "refusal_detector": pipe.detector}
    base = None if args.no_base else Lance(LanceSettings(refiner={"kind": "llamacpp"}), **shared)

    harmful = [("harmful_mix", r.text) for r in harmful_mix(seed=args.seed)]
    xs = [r.text for r in load_dataset("xstest") if r.label == "safe"]
    xs_flagged = [("xstest", t) for t, d in zip(xs, pipe.assessor.assess(xs)) if _route(t, d, pipe) != "pass"]
    print(f"[xstest] {len(xs_flagged)} of {len(xs)} safe prompts flagged", file=sys.stderr)
    sets = {
        "harmful": (harmful[: args.harmful], True),
        "xstest_flagged": (xs_flagged[: args.xstest], True),
        "benign_flagged": (_benign_flagged(pipe, args.benign, args.seed), True),
        "harmful_extra": (harmful[args.harmful : args.harmful + args.own_only_harmful], False),
    }
    judge = default_safety_judge()
    rows: list[dict[str, Any]] = []
    out = args.out.open("w", encoding="utf-8") if args.out else None  # one line per prompt as it lands
    t_start = time.perf_counter()
    for set_name, (items, with_base) in sets.items():
        for i, (source, prompt) in enumerate(items):
            dist = pipe.assess(prompt)
            row: dict[str, Any] = {"set": set_name, "source": source, "prompt": prompt,
                                   "p_safe_prompt": round(dist.p_safe, 3), "route": _route(prompt, dist, pipe)}
            if row["route"] == "neutralize":
                row["own"] = _refined(own, prompt)
                if base is not None and with_base and (args.base_limit is None or i < args.base_limit):
                    row["base"] = _refined(base, prompt)
                for key in ("own", "base"):
                    r = row.get(key)
                    if r and r["accepted"]:
                        v = judge.judge(prompt, r["rewrite"])
                        r["judge_unsafe"], r["judge_score"] = not v.safe, v.score
            rows.append(row)
            if out is not None:
                out.write(json.dumps(_flat(row), ensure_ascii=False) + "\n")
                out.flush()
            o, b = row.get("own") or {}, row.get("base") or {}
            print(f"[{set_name}] {row['route'][:4]} own {'OK' if o.get('accepted') else '--'} "
                  f"base {'OK' if b.get('accepted') else '--'} {prompt[:60]!r} -> {str(o.get('rewrite'))[:70]!r}",
                  file=sys.stderr)
    summary: dict[str, Any] = {}
    for set_name in sets:
        srows = [r for r in rows if r["set"] == set_name]
        if not srows:
            continue
        summary[set_name] = {"prompts": len(srows), "routes": dict(Counter(r["route"] for r in srows)),
                             "own": _summary(srows, "own"), "base": _summary(srows, "base")}
    summary["wall_s"] = round(time.perf_counter() - t_start, 1)
    if out is not None:
        out.close()
    print(json.dumps(summary, indent=1))


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One output line: the own model's fields at the top, the base refiner's prefixed ``base_``."""
    out = {k: v for k, v in row.items() if k not in ("own", "base")}
    out.update(row.get("own") or {})
    out.update({f"base_{k}": v for k, v in (row.get("base") or {}).items()})
    return out


if __name__ == "__main__":
    main()
