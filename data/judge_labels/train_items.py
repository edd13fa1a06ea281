"""The judges' training-part items: every answer of data/judge_labels/train_run (all methods on
train-split prompts) plus written natural refusals from ../shared/data/refiner_seed, shuffled and
blind (id, prompt, response); the key (id -> source, method, label) is kept apart.
Usage: python data/judge_labels/train_items.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data/judge_labels"
SEED = ROOT.parent / "shared/data/refiner_seed/seed.jsonl"
N_WRITTEN = 120


def main() -> None:
    rows = [json.loads(line) for line in (OUT / "train_run/results.jsonl").open()]
    items = [({"prompt": r["prompt"], "response": r["response"]},
              {"source": r["meta"].get("source") or r["source"], "item_id": r["item_id"], "method": r["method"],
               "label": r["label"], "route": r["route"]}) for r in rows]
    seed = [json.loads(line) for line in SEED.open()]
    rng = random.Random(142)
    for s in rng.sample(seed, N_WRITTEN):
        items.append(({"prompt": s["prompt"], "response": s["refusal"]},
                      {"source": s["source"], "item_id": None, "method": "written_refusal", "label": None, "route": None}))
    rng.shuffle(items)
    with (OUT / "train_items.jsonl").open("w") as fi, (OUT / "train_key.jsonl").open("w") as fk:
        for i, (item, key) in enumerate(items):
            tid = f"t{i:04d}"
            fi.write(json.dumps({"id": tid} | item, ensure_ascii=False) + "\n")
            fk.write(json.dumps({"id": tid} | key, ensure_ascii=False) + "\n")
    second = sorted(rng.sample([f"t{i:04d}" for i in range(len(items))], len(items) // 5))
    (OUT / "work" / "second_reader_train_ids.txt").write_text("\n".join(second) + "\n")
    print(f"{len(items)} training items; second reader: {len(second)}")


if __name__ == "__main__":
    main()
