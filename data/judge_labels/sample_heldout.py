"""Draw the judges' held-out labelling sample from the committed full run (docs/results/full).

Stratified by dataset and method, seeded; writes the blind items (id, prompt, response) readers
label, and the key (id -> dataset, item, method, label) kept apart from them.
Usage: python data/judge_labels/sample_heldout.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "docs/results/full/results.jsonl"
OUT = ROOT / "data/judge_labels"
#: answers drawn per (dataset, method): more where unsafe answers and LANCE's refusals are.
PER_METHOD = {"vanilla": 45, "safety_prompt": 40, "self_refine": 40, "single_direction": 40, "lance": 50, "guard_block": 20}


def main() -> None:
    rows = [json.loads(line) for line in RUN.open()]
    rng = random.Random(14)
    picked = []
    for dataset in ("xstest", "harmful"):
        for method, n in PER_METHOD.items():
            pool = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            picked += rng.sample(pool, n)
    rng.shuffle(picked)
    items, key = [], []
    for i, r in enumerate(picked):
        hid = f"h{i:04d}"
        items.append({"id": hid, "prompt": r["prompt"], "response": r["response"]})
        key.append({"id": hid, "dataset": r["dataset"], "item_id": r["item_id"], "method": r["method"],
                    "label": r["label"], "route": r["route"]})
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "heldout_items.jsonl").open("w") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in items)
    with (OUT / "heldout_key.jsonl").open("w") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in key)
    print(f"{len(items)} held-out items")


if __name__ == "__main__":
    main()
