"""The one-line pool's items for reading: the answers in the pool's runs, blind and append-only.

Each run's answers (``oneline_pool_run/`` for vanilla at seed 0, ``oneline_pool_primed/`` (oneline_primed.py),
``oneline_pool_run_s1/`` for vanilla at seed 1) not yet in ``oneline_key.jsonl`` get the next
ids (``o00000``...), shuffled within the batch so neither the method nor the run order shows; an
answer whose prompt and text equal an item already written is keyed to that item and not read
twice. Run it again as the runs grow: ids already given never change.
Usage: python data/judge_labels/oneline_items.py
"""

from __future__ import annotations

import json
import random

from train_prompts import ROOT

OUT = ROOT / "data/judge_labels"
RUNS = ("oneline_pool_run", "oneline_pool_primed", "oneline_pool_run_s1")


def _read(name: str) -> list[dict]:
    path = OUT / name
    return [json.loads(line) for line in path.open(encoding="utf-8")] if path.exists() else []


def main() -> None:
    items, keys = _read("oneline_items.jsonl"), _read("oneline_key.jsonl")
    seen = {(k["run"], k["item_id"], k["method"]) for k in keys}
    by_text = {(i["prompt"], i["response"]): i["id"] for i in items}
    prompts = {p["text"] for p in _read("oneline_pool_prompts.jsonl")}
    new: list[tuple[dict, dict]] = []
    for run in RUNS:
        for r in _read(f"{run}/results.jsonl"):
            if r["prompt"] not in prompts:  # dropped from the pool after it was answered (oneline_pool.py)
                continue
            key = {"run": run, "item_id": r["item_id"], "method": r["method"], "seed": r["seed"],
                   "source": r["meta"].get("source"), "label": r["label"]}
            if (run, r["item_id"], r["method"]) not in seen:
                seen.add((run, r["item_id"], r["method"]))
                new.append(({"prompt": r["prompt"], "response": r["response"]}, key))
    random.Random(len(items)).shuffle(new)
    n_items = len(items)
    with (OUT / "oneline_items.jsonl").open("a", encoding="utf-8") as fi, \
            (OUT / "oneline_key.jsonl").open("a", encoding="utf-8") as fk:
        for item, key in new:
            text = (item["prompt"], item["response"])
            if text not in by_text:
                by_text[text] = f"o{n_items:05d}"
                fi.write(json.dumps({"id": by_text[text]} | item, ensure_ascii=False) + "\n")
                n_items += 1
            fk.write(json.dumps({"id": by_text[text]} | key, ensure_ascii=False) + "\n")
    print(f"{len(new)} new answers; {n_items - len(items)} new items; {n_items} items in all")


if __name__ == "__main__":
    main()
