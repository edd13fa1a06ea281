"""Held-out validation of the offline response-safety judge.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/safety_judge.py [--noncommercial]

1. Train on 75% of the labelled responses (split by request, so the same goal
   never sits on both sides), report accuracy and F1 (unsafe = positive) on the
   held-out 25%, per source and overall.
2. The 100 JBB responses with 3 human annotators: 5-fold grouped cross-validation
   (every other source always in training), next to the judges whose verdicts
   ship in the same file (agreement with the human majority).
``--noncommercial`` adds PKU-SafeRLHF (CC BY-NC 4.0) to training and evaluation.
First run encodes ~5,600 texts (many minutes on 2 cores); later runs use the cache.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str]) -> int:
    from lance.judges.training import EmbeddingCache
    from lance.research.judge_studies import evaluate_safety, jbb_human_cv

    nc = "--noncommercial" in argv
    t0 = time.perf_counter()
    cache = EmbeddingCache()
    rows = evaluate_safety(cache, include_nc=nc, progress=lambda m: print(f"  {m}", file=sys.stderr))
    print("| held-out source | n | unsafe | accuracy | F1 (unsafe) |")
    print("|---|---|---|---|---|")
    for r in rows:
        name = f"**{r.source}**" if r.source == "all held-out" else r.source
        print(f"| {name} | {r.n} | {r.positives} | {r.accuracy:.1%} | {r.f1:.3f} |")
    print()
    cv, refs = jbb_human_cv(cache, include_nc=nc)
    print("| judge on JBB classifier_comparison (3 humans, majority) | n | agreement | F1 (unsafe) |")
    print("|---|---|---|---|")
    print(f"| LANCE offline judge (5-fold grouped CV) | {cv.n} | {cv.accuracy:.1%} | {cv.f1:.3f} |")
    for name, acc in refs.items():
        print(f"| {name} (verdicts shipped in the file) | 100 | {acc:.1%} | |")
    print()
    print(f"noncommercial data: {nc}; wall time {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
