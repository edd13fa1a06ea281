"""Leave-one-model-out validation of the refusal detector on XSTest's human labels.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/refusal_detector.py

For each of XSTest's 5 models: train on the other 4 models' responses + the CAST
openers, test on the held-out model's 450 responses. Prints binary agreement
(refusal = full or partial) and 3-way accuracy with the human final labels, next
to XSTest's own string-match and GPT-4 classifiers computed from the shipped
label files; then rigidity by human label over all folds' predictions.
First run encodes ~5,000 texts (minutes on 2 cores); later runs use the cache.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rigidity_table(cache) -> None:  # noqa: ANN001
    """Mean rigidity of the human-labelled refusals, by label and by model (no classifier
    involved: rigidity is computed for every response the humans call a refusal)."""
    import numpy as np

    from lance.judges import data as D
    from lance.judges.features import head
    from lance.judges.refusal import rigidity_score
    from lance.judges.templates import REFUSAL_TEMPLATES

    rows = [r for r in D.xstest_responses() if r.label != "full_compliance"]
    r_emb = cache.encode([head(r.response) for r in rows])
    p_emb = cache.encode([r.prompt for r in rows])
    t_emb = cache.encode(list(REFUSAL_TEMPLATES))
    t_sim = (r_emb @ t_emb.T).max(axis=1)
    p_sim = (r_emb * p_emb).sum(axis=1)
    rig = np.array([rigidity_score(r.response, float(t), float(p)) for r, t, p in zip(rows, t_sim, p_sim)])
    print("| human label | model | refusals | mean rigidity |")
    print("|---|---|---|---|")
    for label in ("full_refusal", "partial_refusal"):
        k = np.array([r.label == label for r in rows])
        print(f"| {label} | all | {int(k.sum())} | {rig[k].mean():.3f} |")
    for m in D.XSTEST_MODELS:
        k = np.array([r.model == m and r.label == "full_refusal" for r in rows])
        if k.any():
            print(f"| full_refusal | {m} | {int(k.sum())} | {rig[k].mean():.3f} |")


def main() -> int:
    from lance.judges import data as D
    from lance.judges.train import EmbeddingCache, leave_one_model_out, xstest_baselines

    t0 = time.perf_counter()
    cache = EmbeddingCache()
    folds = leave_one_model_out(cache, progress=lambda m: print(f"  {m}", file=sys.stderr))
    base = xstest_baselines()
    print("| held-out model | n | detector binary | detector 3-way | string match binary | GPT-4 binary |")
    print("|---|---|---|---|---|---|")
    for f in folds:
        print(f"| {f.model} | {f.n} | {f.binary:.1%} | {f.three_way:.1%} | {f.strmatch_binary:.1%} | {f.gpt4_binary:.1%} |")
    n = sum(f.n for f in folds)
    b = sum(f.binary * f.n for f in folds) / n
    t = sum(f.three_way * f.n for f in folds) / n
    s = {k: (sum(v[1] for v in base[k].values()), sum(v[2] for v in base[k].values()), sum(v[0] for v in base[k].values())) for k in base}
    print(
        f"| **all** | {n} | **{b:.1%}** | **{t:.1%}** | {s['strmatch'][0] / s['strmatch'][2]:.1%} "
        f"(3-way {s['strmatch'][1] / s['strmatch'][2]:.1%}) | {s['gpt4'][0] / s['gpt4'][2]:.1%} (3-way {s['gpt4'][1] / s['gpt4'][2]:.1%}) |"
    )
    print()
    rigidity_table(cache)
    print()
    print(f"rows: {len(D.xstest_responses())} XSTest responses; wall time {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
