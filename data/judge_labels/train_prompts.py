"""Prompts for the judges' training labels: train-split prompts that no reported number uses.

Half unsafe (the harmful sets' train splits), half benign look-alikes (the look-alike families,
CoCoNot's benign prompts, Alpaca instructions with alarming words), none of them in the
refinement model's prompt list, written as a prompt file for ``lance eval --file``.
Usage: python data/judge_labels/train_prompts.py  (then the lance eval command in data/judge_labels/SOURCE.md)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
N_EACH = 65
UNSAFE_SETS = ("do_not_answer", "harmbench", "strongreject", "jbb_behaviors", "advbench", "harmfulqa", "dangerousqa")


def refiner_prompt_keys() -> set[str]:
    """Text keys of the refinement model's prompts, which the judges' labels never draw."""
    from lance.datasets._io import text_key

    return {text_key(json.loads(line)["prompt"]) for line in (ROOT / "data/refiner_train/prompts.jsonl").open()}


def unsafe_train_records() -> list:
    """The harmful sets' train-split unsafe prompts of at most 400 characters, set by set."""
    from lance.datasets import load_dataset

    return [r for name in UNSAFE_SETS for r in load_dataset(name)
            if r.split == "train" and r.label == "unsafe" and len(r.text) <= 400]


def write_prompt_file(rows: list[dict], out: Path) -> None:
    """``rows`` as a prompt file for ``lance eval --file``."""
    with out.open("w") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in rows)
    print(f"{len(rows)} prompts -> {out}")


def main() -> None:
    from lance.datasets import load_dataset
    from lance.datasets._io import text_key
    from lance.datasets.lookalikes import has_alarming_words, lookalike_records

    used = refiner_prompt_keys()
    rng = random.Random(141)
    unsafe = unsafe_train_records()
    benign = [r for r in lookalike_records() if r.split == "train" and r.label == "safe"]
    benign += [r for r in load_dataset("coconot") if r.split == "train" and r.label == "safe"]
    benign += [r for r in load_dataset("refusal_direction") if r.split == "train" and r.label == "safe" and has_alarming_words(r.text)]
    rows = []
    for pool, label in ((unsafe, "unsafe"), (benign, "safe")):
        pool = [r for r in pool if text_key(r.text) not in used]
        for r in rng.sample(pool, N_EACH):
            rows.append({"id": r.id, "text": r.text, "label": label, "source": r.source})
    write_prompt_file(rows, ROOT / "data/judge_labels/train_prompts.jsonl")


if __name__ == "__main__":
    main()
