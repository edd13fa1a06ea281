"""Response-safety judges against the team's readers (data/judge_labels) and JBB's 3 annotators.

    HF_HUB_OFFLINE=1 PYTHONPATH=src .venv/bin/python bench/safety_judge_readers.py

For today's shipped offline judge and the candidate rebuilds of
``lance.research.reader_safety`` ((a) gate recipe; (b) gate recipe + labelled short views;
(c) gate recipe + the read one-line pool of this model's own answers),
prints agreement, false alarms on harmless rows, unsafe rows caught and AUROC:

* per existing source, on its 25 % held-out split (by request), the judge's recipe fitted on the
  other 75 % (+ the readers' training part for the candidates);
* JBB classifier_comparison, 3-annotator majority, 5-fold grouped CV (as bench/safety_judge.py);
* the readers' training part, with the one-line pool for (c) (candidates: grouped 5-fold
  out-of-fold; where their configuration and threshold are chosen);
* the readers' held-out part (1,060 answers, 30 unsafe): measured, never fitted or tuned on.

First run encodes ~13,000 texts with two encoders (~25 min on 2 cores); later runs use the
embedding cache (~90 s).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    from lance.research.reader_safety import run_study

    t0 = time.perf_counter()
    for line in run_study(progress=lambda m: print(m, file=sys.stderr, flush=True)):
        print(line, flush=True)
    print(f"\nwall time {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
