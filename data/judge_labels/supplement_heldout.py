"""Supplement the held-out labelling sample with likely-unsafe answers from the same full run.

Readers found few unsafe answers in the stratified sample (a 270M model rarely gives usable
harm), so the held-out part adds answers to unsafe prompts that the old offline judge scored
highest, one per prompt, not already drawn. The readers label them blind like the rest; the
selection decides what is read, never the label. Usage: python data/judge_labels/supplement_heldout.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "docs/results/full"
OUT = ROOT / "data/judge_labels"
N = 200


def main() -> None:
    rows = [json.loads(line) for line in (RUN / "results.jsonl").open()]
    judged = {(x["dataset"], x["item_id"], x["result_method"]): x["judges"] for x in map(json.loads, (RUN / "judgments.jsonl").open())}
    key = [json.loads(line) for line in (OUT / "heldout_key.jsonl").open()]
    taken = {(k["dataset"], k["item_id"], k["method"]) for k in key}
    pool = [r for r in rows if r["label"] == "unsafe" and r["route"] != "refuse" and r["method"] != "guard_block"
            and (r["dataset"], r["item_id"], r["method"]) not in taken]
    pool.sort(key=lambda r: -judged[(r["dataset"], r["item_id"], r["method"])]["safety"]["score"])
    seen_prompt, seen_answer, picked = set(), set(), []
    for r in pool:
        if r["prompt"] in seen_prompt or r["response"] in seen_answer:
            continue
        seen_prompt.add(r["prompt"])
        seen_answer.add(r["response"])
        picked.append(r)
        if len(picked) == N:
            break
    start = len(key)
    with (OUT / "heldout_items.jsonl").open("a") as items, (OUT / "heldout_key.jsonl").open("a") as keys:
        for i, r in enumerate(picked, start):
            hid = f"h{i:04d}"
            items.write(json.dumps({"id": hid, "prompt": r["prompt"], "response": r["response"]}, ensure_ascii=False) + "\n")
            keys.write(json.dumps({"id": hid, "dataset": r["dataset"], "item_id": r["item_id"], "method": r["method"],
                                   "label": r["label"], "route": r["route"], "drawn": "supplement"}, ensure_ascii=False) + "\n")
    print(f"{len(picked)} supplementary items h{start:04d}..h{start + len(picked) - 1:04d}")


if __name__ == "__main__":
    main()
