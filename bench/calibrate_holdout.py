"""``lance calibrate`` measured on held-out halves: does the budget hold on prompts it never saw?

    .venv/bin/python bench/calibrate_holdout.py [--budget 0.02] [--seeds 10] [--penalty 0 0.5 1 2] [--min-benign 50]

For every built-in set with benign prompts except XSTest (the held-out split of ``lance
calibrate``: prompts the packaged gate never trained on), and for each seed: the benign set and
the unsafe ``harmful`` mix are each split into seeded halves; the thresholds are calibrated on
one half (``choose``, the code ``lance calibrate`` runs) and the benign leave-rate and unsafe
catch rate are measured with the routing function on the other half. Every prompt is assessed
once and its critical values are found once; each (set, seed, penalty) reuses them.

The first table is for the first ``--penalty`` (the default of ``lance calibrate`` is 1); the
second shows every penalty's mean held-out benign leave-rate and catch rate. Sets with fewer
than ``--min-benign`` held-out benign prompts are left out (a 2% budget allows none of 5).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=0.02)
    ap.add_argument("--seeds", type=int, default=10, help="seeded half splits per set")
    ap.add_argument("--penalty", type=float, nargs="+", default=[1.0, 0.0, 0.5, 2.0])
    ap.add_argument("--min-benign", type=int, default=50, help="smallest benign set measured")
    args = ap.parse_args()

    from lance.assess.assessor import load_assessor
    from lance.config import LanceSettings
    from lance.datasets import list_datasets
    from lance.errors import InputError
    from lance.eval.calibration import LeaveTable, choose, halves, load_prompt_set, operating_point
    from lance.taxonomy import load_taxonomy

    settings = LanceSettings()
    taxonomy = load_taxonomy(settings.taxonomy)
    unsafe = load_prompt_set(["harmful"], "unsafe").records
    benign = {}
    for info in list_datasets():
        if info.name == "xstest":
            continue
        try:
            recs = load_prompt_set([info.name], "benign").records
        except InputError:  # a set with no safe prompts
            continue
        if len(recs) >= args.min_benign:
            benign[info.name] = recs
    texts = list(dict.fromkeys(r.text for recs in [unsafe, *benign.values()] for r in recs))
    t0 = time.perf_counter()
    dists = load_assessor(settings, taxonomy=taxonomy).assess(texts)
    t1 = time.perf_counter()
    table = LeaveTable(dists, taxonomy, settings.pipeline)
    t2 = time.perf_counter()
    row = {t: i for i, t in enumerate(texts)}
    print(f"{len(texts)} prompts: assessed in {t1 - t0:.0f}s, critical values in {t2 - t1:.0f}s "
          f"(load {os.getloadavg()[0]:.1f}); budget {args.budget:.1%}, {args.seeds} seeds, unsafe: harmful ({len(unsafe)})\n")

    results: dict[tuple[str, float], list[tuple[float, float, float, float, float]]] = {}
    for name, recs in benign.items():
        for seed in range(args.seeds):
            cal_b, held_b = halves(recs, seed)
            cal_u, held_u = halves(unsafe, seed + 1)
            rb, ru = [row[r.text] for r in cal_b], [row[r.text] for r in cal_u]
            for pen in args.penalty:
                cal = choose(table, rb, ru, args.budget, penalty=pen)
                held = operating_point([dists[row[r.text]] for r in held_b], [dists[row[r.text]] for r in held_u],
                                       taxonomy, cal.config(settings.pipeline))
                results.setdefault((name, pen), []).append((
                    cal.point.benign_leave_rate, cal.point.unsafe_catch_rate,
                    held.benign_leave_rate, held.unsafe_catch_rate, float(len(cal.moved))))

    pen = args.penalty[0]
    b = 100 * args.budget
    print(f"penalty {pen:g}: rates in %, mean over seeds [min, max]")
    print("| benign set | benign prompts (calibrate / held-out) | calibration benign | calibration catch | "
          "held-out benign | seeds within ±1 pt | held-out catch | thresholds moved |")
    print("|---|---|---|---|---|---|---|---|")
    for name, recs in benign.items():
        r = 100 * np.array(results[(name, pen)])
        within = int((np.abs(r[:, 2] - b) <= 1.0).sum())
        n_cal = (len(recs) + 1) // 2
        print(f"| {name} | {n_cal} / {len(recs) - n_cal} | {r[:, 0].mean():.2f} | {r[:, 1].mean():.1f} | "
              f"**{r[:, 2].mean():.2f}** [{r[:, 2].min():.2f}, {r[:, 2].max():.2f}] | {within}/{len(r)} | "
              f"{r[:, 3].mean():.1f} | {r[:, 4].mean() / 100:.1f} |")
    print("\nheld-out benign leave-rate / held-out catch rate (%, means over seeds) by penalty")
    print("| benign set | " + " | ".join(f"penalty {p:g}" for p in args.penalty) + " |")
    print("|---|" + "---|" * len(args.penalty))
    for name in benign:
        cells = []
        for p in args.penalty:
            r = 100 * np.array(results[(name, p)])
            cells.append(f"{r[:, 2].mean():.2f} / {r[:, 3].mean():.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
