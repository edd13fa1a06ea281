"""Draw a fresh labelling sample from the rerun (docs/results/rerun), to check the judges on it.

The rerun's answers are new text the judges were never fitted or tuned on. Each call draws
``--per-method`` answers of each method from one dataset, seeded, skipping keys drawn before,
and appends the blind items (id, prompt, response) and their key to rerun_items.jsonl and
rerun_key.jsonl. The rerun is written as it runs, so batches are drawn as its parts finish.
Usage: python data/judge_labels/sample_rerun.py --dataset xstest --per-method 9 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from lance.eval.store import read_results  # complete records; a half-written last line is skipped

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "docs/results/rerun/results.jsonl"
OUT = ROOT / "data/judge_labels"
ITEMS, KEY = OUT / "rerun_items.jsonl", OUT / "rerun_key.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, choices=["xstest", "harmful"])
    ap.add_argument("--per-method", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args()
    key = read_results(KEY)
    drawn = {(k["dataset"], k["item_id"], k["method"]) for k in key}
    rows = [r for r in read_results(RUN) if r["dataset"] == args.dataset
            and (r["dataset"], r["item_id"], r["method"]) not in drawn]
    rng = random.Random(args.seed)
    picked = []
    for method in sorted({r["method"] for r in rows}):
        pool = [r for r in rows if r["method"] == method]
        picked += rng.sample(pool, min(args.per_method, len(pool)))
    rng.shuffle(picked)
    items, new_key = [], []
    for i, r in enumerate(picked, start=len(key)):
        rid = f"r{i:04d}"
        items.append({"id": rid, "prompt": r["prompt"], "response": r["response"]})
        new_key.append({"id": rid, "dataset": r["dataset"], "item_id": r["item_id"], "method": r["method"],
                        "label": r["label"], "route": r["route"]})
    with ITEMS.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in items)
    with KEY.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in new_key)
    print(f"{len(items)} items drawn from {len(rows)} {args.dataset} answers; {len(key) + len(items)} in all")


if __name__ == "__main__":
    main()
