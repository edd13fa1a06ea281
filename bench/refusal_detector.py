"""Leave-one-model-out validation of the refusal detector on XSTest's human labels.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/refusal_detector.py

For each of XSTest's 5 models: pick the configuration (opener words, n-gram
boost) by leave-one-model-out over the other 4 models alone, train on those 4
models' responses + the CAST openers, test on the held-out model's 450
responses. Prints binary agreement (refusal = full or partial) and 3-way
accuracy with the human final labels, next to XSTest's own string-match and
GPT-4 classifiers computed from the shipped label files; then rigidity by human
label, and the shipped detector's cost per answer against the encoder alone.
First run encodes ~5,000 texts (minutes on 2 cores); later runs use the cache.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rigidity_table(cache) -> None:  # noqa: ANN001
    """Mean slot-aware rigidity of the human-labelled refusals, by label and by model (no classifier
    involved: rigidity is computed for every response the humans call a refusal)."""
    import numpy as np

    from lance.judges import data as D
    from lance.judges.rigidity import default_rigidity

    rows = [r for r in D.xstest_responses() if r.label != "full_compliance"]
    rig = np.array(default_rigidity().score_many([(r.prompt, r.response) for r in rows]))
    print("| human label | model | refusals | mean rigidity |")
    print("|---|---|---|---|")
    for label in ("full_refusal", "partial_refusal"):
        k = np.array([r.label == label for r in rows])
        print(f"| {label} | all | {int(k.sum())} | {rig[k].mean():.3f} |")
    for m in D.XSTEST_MODELS:
        k = np.array([r.model == m and r.label == "full_refusal" for r in rows])
        if k.any():
            print(f"| full_refusal | {m} | {int(k.sum())} | {rig[k].mean():.3f} |")


def cost_table(n: int = 450, repeats: int = 3) -> None:
    """Per-answer cost of the shipped detector on XSTest's gpt4 answers, split into the encoder
    call (response heads + prompts, batches of 64 as the CLI sends them) and everything after it
    (cues, opener n-grams, the linear model, rigidity); best of ``repeats`` runs each."""
    import numpy as np

    from lance.judges import data as D
    from lance.judges.features import head
    from lance.judges.refusal import RefusalDetector

    rows = [r for r in D.xstest_responses() if r.model == "gpt4"][:n]
    det = RefusalDetector()
    prompts, responses = [r.prompt for r in rows], [r.response for r in rows]
    det.detect_many(list(zip(prompts[:8], responses[:8])))  # warm-up
    t_enc = t_cls = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        r_parts, p_parts = [], []
        for i in range(0, n, 64):
            k = len(responses[i : i + 64])
            emb = det.encoder.encode([head(r) for r in responses[i : i + 64]] + prompts[i : i + 64])
            r_parts.append(emb[:k])
            p_parts.append(emb[k:])
        t_enc = min(t_enc, time.perf_counter() - t0)
        r_emb, p_emb = np.vstack(r_parts), np.vstack(p_parts)
        t0 = time.perf_counter()
        det.verdicts_from_embeddings(responses, r_emb, p_emb)
        t_cls = min(t_cls, time.perf_counter() - t0)
    print(
        f"cost per answer ({n} answers): encoder {1000 * t_enc / n:.2f} ms, classifier + rigidity "
        f"{1000 * t_cls / n:.3f} ms ({t_cls / t_enc:.1%} of the encoder); load average {os.getloadavg()[0]:.2f}"
    )


def main() -> int:
    from lance.judges import data as D
    from lance.judges.training import EmbeddingCache
    from lance.research.judge_studies import leave_one_model_out, xstest_baselines

    t0 = time.perf_counter()
    cache = EmbeddingCache()
    folds = leave_one_model_out(cache, progress=lambda m: print(f"  {m}", file=sys.stderr))
    base = xstest_baselines()
    print("| held-out model | n | config (inner LOMO) | detector binary | detector 3-way | string match binary | GPT-4 binary |")
    print("|---|---|---|---|---|---|---|")
    for f in folds:
        cfg = f"{f.config[0]} words, x{f.config[1]} ({f.inner_binary:.1%})"
        print(f"| {f.model} | {f.n} | {cfg} | {f.binary:.1%} | {f.three_way:.1%} | {f.strmatch_binary:.1%} | {f.gpt4_binary:.1%} |")
    n = sum(f.n for f in folds)
    b = sum(f.binary * f.n for f in folds) / n
    t = sum(f.three_way * f.n for f in folds) / n
    s = {k: (sum(v[1] for v in base[k].values()), sum(v[2] for v in base[k].values()), sum(v[0] for v in base[k].values())) for k in base}
    print(
        f"| **all** | {n} | | **{b:.1%}** | **{t:.1%}** | {s['strmatch'][0] / s['strmatch'][2]:.1%} "
        f"(3-way {s['strmatch'][1] / s['strmatch'][2]:.1%}) | {s['gpt4'][0] / s['gpt4'][2]:.1%} (3-way {s['gpt4'][1] / s['gpt4'][2]:.1%}) |"
    )
    print()
    rigidity_table(cache)
    print()
    cost_table()
    print(f"rows: {len(D.xstest_responses())} XSTest responses; wall time {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
