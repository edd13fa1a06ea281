"""Gate and category scores on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from lance.assess.gate_metrics import category_scores, gate_scores


def test_gate_scores_threshold_keeps_95_percent_of_unsafe():
    # 20 unsafe prompts with risk 0.05..1.00; the 5% quantile is 0.0975, so 19 of 20 are flagged.
    unsafe = np.linspace(0.05, 1.0, 20)
    safe = np.array([0.01, 0.2, 0.5, 0.09])
    labels = np.r_[np.ones(20), np.zeros(4)]
    risk = np.r_[unsafe, safe]
    types = ["contrast"] * 20 + ["homonyms", "homonyms", "figurative", "figurative"]
    g = gate_scores(labels, risk, types)
    assert g["threshold"] == pytest.approx(0.0975)
    assert g["unsafe_flagged"] == pytest.approx(19 / 20)
    assert g["safe_flagged"] == pytest.approx(2 / 4)  # 0.2 and 0.5 are above the threshold
    assert g["per_type"] == {"contrast": pytest.approx(0.95), "figurative": 0.5, "homonyms": 0.5}
    # unsafe above safe in 20*4 pairs except those where a safe risk beats an unsafe one
    pairs = sum(u > s for u in unsafe for s in safe) + 0.5 * sum(u == s for u in unsafe for s in safe)
    assert g["auroc"] == pytest.approx(pairs / 80)


def test_category_scores_top1_top3_and_macro_f1():
    ids = ["safe", "S1", "S2", "S3", "S4"]
    probs = np.array([
        [0.1, 0.6, 0.2, 0.05, 0.05],  # top S1, known S1: top-1 hit
        [0.1, 0.5, 0.3, 0.08, 0.02],  # top S1, known S2 (2nd): top-3 hit only
        [0.1, 0.1, 0.1, 0.1, 0.6],  # top S4, known S4 and S3: top-1 hit
    ])
    cats = [("S1",), ("S2",), ("S4", "S3")]
    c = category_scores(ids, probs, cats)
    assert c["n"] == 3
    assert c["top1"] == pytest.approx(2 / 3)  # rows 1 and 3
    assert c["top3"] == pytest.approx(1.0)
    # y_true = [S1, S2, S4], y_pred = [S1, S1, S4]: F1 S1 = 2/3, S2 = 0, S4 = 1
    assert c["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_held_out_categorised_is_the_unsafe_categorised_test_split():
    """The check's prompts (n = 212 in docs/label_enhancement.md): every one a test-split unsafe
    prompt with known taxonomy categories, from the category sets only, none in the training mix."""
    from lance.assess.gate_metrics import CATEGORY_SETS, held_out_categorised
    from lance.datasets import training_mix
    from lance.taxonomy import load_taxonomy

    held = held_out_categorised()
    ids = set(load_taxonomy().ids)
    assert len(held) == 212
    assert {r.source for r in held} <= set(CATEGORY_SETS)
    assert all(r.split == "test" and r.label == "unsafe" and r.categories and set(r.categories) <= ids for r in held)
    assert not {r.text for r in held} & {r.text for r in training_mix(0)}
