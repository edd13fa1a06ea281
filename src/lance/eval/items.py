"""The prompts an evaluation runs on: a registered dataset, or ``harmful`` (a balanced mix).

``harmful`` is a sample of unsafe prompts from the *test split* of the category-labelled
sets (never trained on by the label-enhancement model), interleaved round-robin across the
sets so that any ``--limit`` keeps them balanced. Order is fixed by the seed, so the same
arguments always select the same items (which resuming relies on).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from lance.datasets import Record, list_datasets, load_dataset
from lance.errors import InputError

HARMFUL = "harmful"
#: The category-labelled harmful sets ``harmful`` samples from (test split only).
DEFAULT_HARMFUL_SETS: tuple[str, ...] = ("do_not_answer", "harmbench", "jbb_behaviors", "strongreject")


def known_datasets() -> list[str]:
    return [HARMFUL, *(d.name for d in list_datasets())]


def harmful_mix(sets: Sequence[str] = DEFAULT_HARMFUL_SETS, seed: int = 0) -> list[Record]:
    """Unsafe test-split prompts of ``sets``, shuffled per set by ``seed``, interleaved round-robin."""
    pools: list[list[Record]] = []
    for name in sets:
        recs = [r for r in load_dataset(name) if r.split == "test" and r.label == "unsafe"]
        if not recs:
            raise InputError(f"harmful set {name!r} has no unsafe prompts in its test split; pick another set")
        random.Random(f"{seed}:{name}").shuffle(recs)
        pools.append(recs)
    out: list[Record] = []
    seen: set[str] = set()
    for i in range(max(len(p) for p in pools)):
        for pool in pools:
            if i < len(pool) and pool[i].text.strip().lower() not in seen:
                seen.add(pool[i].text.strip().lower())
                out.append(pool[i])
    return out


def check_dataset(dataset: str, harmful_sets: Sequence[str] = DEFAULT_HARMFUL_SETS) -> None:
    """Raise ``InputError`` naming the valid choices when ``dataset`` (or a harmful set) is unknown."""
    names = known_datasets()  # includes HARMFUL
    if dataset not in names:
        raise InputError(f"unknown dataset {dataset!r}; valid names: {', '.join(names)}")
    if dataset == HARMFUL:
        for name in harmful_sets:
            if name not in names:
                raise InputError(f"unknown harmful set {name!r}; valid names: {', '.join(names)}")


def load_items(
    dataset: str,
    *,
    limit: int | None = None,
    seed: int = 0,
    harmful_sets: Sequence[str] = DEFAULT_HARMFUL_SETS,
) -> list[Record]:
    """The records of one evaluation dataset, at most ``limit`` of them.

    A registered dataset keeps its file order, except that a ``limit`` takes a seeded sample
    stratified by label (so ``--limit 20`` on XSTest has safe and unsafe prompts).
    """
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if dataset == HARMFUL:
        recs = harmful_mix(harmful_sets, seed)
        return recs[:limit] if limit else recs
    check_dataset(dataset)
    return sample_records(load_dataset(dataset), dataset, limit=limit, seed=seed)


def sample_records(recs: list[Record], dataset: str, *, limit: int | None = None, seed: int = 0) -> list[Record]:
    """``recs`` in file order, or with ``limit`` a seeded sample stratified by label (unlabelled is its own stratum)."""
    if not limit or limit >= len(recs):
        return recs
    # stratified, seeded: interleave the shuffled safe and unsafe records, then restore file order
    by_label: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        by_label.setdefault(r.label or "", []).append(i)
    for label, idx in by_label.items():
        random.Random(f"{seed}:{dataset}:{label}").shuffle(idx)
    chosen: list[int] = []
    pools = [by_label[k] for k in sorted(by_label)]
    for i in range(max(len(p) for p in pools)):
        for pool in pools:
            if i < len(pool) and len(chosen) < limit:
                chosen.append(pool[i])
    return [recs[i] for i in sorted(chosen)]
