"""Draw the answers readers label for a reader-judged unsafe-compliance figure of the rerun.

The offline safety judge disagrees with readers on this model's answers (docs/judges.md), so the
unsafe-compliance comparison of the targets (lance, single_direction, guard_block) is also read:
every answer of those methods to one dataset's unsafe prompts, each distinct (prompt, answer)
once (a passed prompt gets the same answer from every gated method), shuffled, blind. The
guardrail's blocks are its one fixed message and are not read (counted safe).
Usage: python docs/results/rerun/readers/draw.py --dataset xstest --seed 3
(run again as more of the run is written: it appends what is new, with new ids)
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from lance.eval.store import read_results

HERE = Path(__file__).resolve().parent
RUN = HERE.parent / "results.jsonl"
METHODS = ("lance", "single_direction", "guard_block")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args()
    rows = read_results(RUN)  # complete records: the run may be mid-write
    rows = [r for r in rows if r["dataset"] == args.dataset and r["label"] == "unsafe" and r["method"] in METHODS]
    methods_of: dict[str, set[str]] = {}
    for r in rows:
        methods_of.setdefault(r["item_id"], set()).add(r["method"])
    # only items every method has answered: a later method's answer may repeat an earlier one's
    rows = [r for r in rows if methods_of[r["item_id"]] == set(METHODS)
            and not (r["method"] == "guard_block" and r["route"] == "block")]
    key_path, items_path = HERE / f"{args.dataset}_key.jsonl", HERE / f"{args.dataset}_items.jsonl"
    # a run still being written is drawn in parts: answers drawn before keep their ids
    old_items = [json.loads(x) for x in items_path.read_text(encoding="utf-8").splitlines()] if items_path.exists() else []
    old_key = [json.loads(x) for x in key_path.read_text(encoding="utf-8").splitlines()] if key_path.exists() else []
    seen = {(o["prompt"], o["response"]) for o in old_items}
    drawn = {(a["item_id"], a["method"]) for k in old_key for a in k["answers"]}
    rows = [r for r in rows if (r["item_id"], r["method"]) not in drawn]
    if any((r["prompt"], r["response"]) in seen for r in rows):
        raise SystemExit("a new answer repeats one drawn before (the run was changed?): redraw from scratch")
    pairs: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        pairs.setdefault((r["prompt"], r["response"]), []).append(r)
    order = list(pairs)
    random.Random(args.seed).shuffle(order)
    items, key = old_items, old_key
    for i, (prompt, response) in enumerate(order, start=len(old_items)):
        uid = f"{args.dataset[0]}u{i:04d}"
        items.append({"id": uid, "prompt": prompt, "response": response})
        key.append({"id": uid, "answers": [{"item_id": r["item_id"], "method": r["method"], "route": r["route"]}
                                           for r in pairs[(prompt, response)]]})
    items_path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
    key_path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in key), encoding="utf-8")
    print(f"{len(rows)} new answers, {len(order)} new distinct (prompt, answer) pairs; {len(items)} in all")


if __name__ == "__main__":
    main()
