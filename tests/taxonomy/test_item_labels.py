"""Per-prompt categories: every entry names a real train/val unsafe prompt whose dataset label
left it uncategorised, and the training mix applies them only when asked."""

from __future__ import annotations

from collections import Counter

from lance.datasets import load_dataset, training_mix
from lance.taxonomy import load_taxonomy
from lance.taxonomy.item_labels import ITEM_CATEGORIES


def test_entries_are_real_uncategorised_train_prompts() -> None:
    ids = set(load_taxonomy().ids) - {"safe"}
    recs = {r.id: r for name in {i.split(":")[0] for i in ITEM_CATEGORIES} for r in load_dataset(name)}
    for rid, cats in ITEM_CATEGORIES.items():
        r = recs[rid]
        assert r.label == "unsafe" and r.split in ("train", "val"), rid  # the test split stays held out
        assert cats and set(cats) <= ids and len(set(cats)) == len(cats), rid
        assert not set(cats) & set(r.categories), f"{rid}: already known from the dataset map"
    # the point of the table: the refuse category S4 and the other thin ones get labels
    per = Counter(c for cats in ITEM_CATEGORIES.values() for c in cats)
    assert per["S4"] >= 5 and per["S5"] >= 5 and per["S13"] >= 2


def test_training_mix_applies_item_categories_only_when_asked() -> None:
    plain = {r.id: r for r in training_mix(0)}
    labelled = {r.id: r for r in training_mix(0, item_categories=True)}
    assert plain.keys() == labelled.keys()
    changed = {rid for rid in plain if plain[rid].categories != labelled[rid].categories}
    assert changed and changed <= set(ITEM_CATEGORIES) | {
        rid for rid, r in plain.items() if set(r.meta.get("merged_from", [])) & set(ITEM_CATEGORIES)}
    for rid in changed:
        assert set(plain[rid].categories) < set(labelled[rid].categories)
        assert labelled[rid].label == "unsafe" and labelled[rid].text == plain[rid].text
    test_split = training_mix(0, splits=("test",), item_categories=True)
    assert not {r.id for r in test_split} & set(ITEM_CATEGORIES)
