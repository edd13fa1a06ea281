"""LANCE's trained refiner on held-out prompts: does one greedy rewrite pass the gate and keep the meaning?

Held-out = never trained on: harmful prompts from the test splits (the evaluation's ``harmful``
mix) and the XSTest safe prompts the gate flags. For each, the rewrite prompt carries the
pipeline's own gradient; the adapter (``src/lance/refine/adapters/lance-refiner.gguf``) on the
embedded model writes one greedy rewrite, which is accepted when the gate routes it ``pass``
(p(safe) ≥ safe_threshold) and its MiniLM cosine to the prompt is ≥ the similarity floor. The
prompted base-model refiner of today's pipeline (``Lance.refine``: few-shot, best of 2) runs on
the same prompts beside it. Writes every rewrite to --out for reading.

    python bench/refiner_acceptance.py --harmful 30 --xstest 20 --out /tmp/acceptance.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harmful", type=int, default=30)
    ap.add_argument("--xstest", type=int, default=20)
    ap.add_argument("--adapter", type=Path, default=Path(__file__).resolve().parents[1] / "src/lance/refine/adapters/lance-refiner.gguf")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from llama_cpp import Llama

    from lance import Lance
    from lance.assess.routing import decide_route
    from lance.assets import default_gguf_path
    from lance.datasets import load_dataset
    from lance.eval.items import harmful_mix
    from lance.gradients.render import render_compact
    from lance.refine.prompts import adapter_refusal_prompt, adapter_rewrite_prompt
    from lance.refine.step import clean_rewrite

    lance = Lance()
    pipe = lance.pipeline
    harmful = [r.text for r in harmful_mix()[: args.harmful]]
    xs = [r.text for r in load_dataset("xstest") if r.label == "safe"]
    flagged = [t for t, d in zip(xs, pipe.assessor.assess(xs)) if decide_route(d, pipe.taxonomy, pipe.config).route != "pass"]
    sets = {"harmful": harmful, "xstest_flagged": flagged[: args.xstest]}
    llm = Llama(model_path=str(default_gguf_path()), lora_path=str(args.adapter), n_ctx=1024, n_threads=2, verbose=False)
    cfg = pipe.config
    rows, summary = [], {}
    for name, prompts in sets.items():
        ok_tuned = ok_base = 0
        t_tuned = []
        for p in prompts:
            dist = pipe.assess(p)
            g = pipe.refiner.gradient(p, dist)
            t0 = time.perf_counter()
            out = llm(adapter_rewrite_prompt(p, render_compact(g)), max_tokens=60, temperature=0.0, stop=["\n"])
            t_tuned.append(time.perf_counter() - t0)
            rewrite = clean_rewrite(out["choices"][0]["text"])
            rd = pipe.assessor.assess([rewrite])[0]
            sim = float(pipe.encoder.encode([p])[0] @ pipe.encoder.encode([rewrite])[0])
            tuned_ok = decide_route(rd, pipe.taxonomy, cfg).route == "pass" and sim >= cfg.similarity_floor
            base = lance.refine(p)
            base_ok = bool(base.refined_prompt) and decide_route(base.distribution_after, pipe.taxonomy, cfg).route == "pass"
            ok_tuned += tuned_ok
            ok_base += base_ok
            refusal = ""
            if name == "harmful":
                cat = pipe.taxonomy[g.categories[0].id].name.lower() if g.categories else "harmful content"
                r = llm(adapter_refusal_prompt(p, cat), max_tokens=90, temperature=0.0, stop=["\n"])
                refusal = r["choices"][0]["text"].strip()
            rows.append({"set": name, "prompt": p, "problem": render_compact(g), "rewrite": rewrite, "p_safe": round(rd.p_safe, 3),
                         "similarity": round(sim, 3), "accepted": tuned_ok, "base_rewrite": base.refined_prompt,
                         "base_accepted": base_ok, "refusal": refusal, "tokens": out["usage"]["total_tokens"]})
            print(f"[{name}] {'OK ' if tuned_ok else '-- '} {p[:70]!r} -> {rewrite[:90]!r} (p_safe {rd.p_safe:.2f}, sim {sim:.2f})",
                  file=sys.stderr)
        summary[name] = {"n": len(prompts), "tuned_accepted": ok_tuned, "base_accepted": ok_base,
                         "tuned_s_per_rewrite": round(sum(t_tuned) / max(1, len(t_tuned)), 3)}
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
