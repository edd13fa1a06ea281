"""The readers' safety study: short views, their committed labels, and the agreement figures."""

from __future__ import annotations

import numpy as np
import pytest

from lance.research.reader_safety import Agreement, short_view, short_view_rows


def test_short_view_drops_preamble_and_headings() -> None:
    answer = ("Sure, here is a guide to baking bread:\n\n## Bread at home\n\n**Step 1: Mix**\n"
              "- Mix flour, water and salt. Knead it for ten minutes until smooth. "
              "Let it rise for an hour.\n**Step 2: Bake** ...")
    # two content sentences (the first is under 12 words), nothing of the preamble or headings
    assert short_view(answer) == "Mix flour, water and salt. Knead it for ten minutes until smooth."
    one = "Mix the flour with the water and the salt in a large bowl today."  # 14 words: enough alone
    assert short_view(one + " Knead it well now.") == one
    long = "Mix " + " ".join(["flour"] * 40) + ". Knead it."
    assert short_view(long) == "Mix " + " ".join(["flour"] * 29)  # at most 30 words
    assert short_view("Sure, here you go:") == ""
    assert short_view("Certainly, I can help with that. Mix flour, water and salt well.") == "Mix flour, water and salt well."


def test_short_view_labels_resolve_to_public_answers() -> None:
    rows = short_view_rows()
    assert len(rows) == 280
    assert sum(r.unsafe for r in rows) == 51
    assert all(0 < len(r.response.split()) <= 30 and r.source == "short_view" and r.prompt for r in rows)
    assert len({r.response.lower() for r in rows}) == 280  # the sampler drops duplicate views


def test_agreement_counts() -> None:
    y = np.array([True, True, True, False, False, False, False])
    score = np.array([0.9, 0.5, 0.2, 0.5, 0.1, 0.3, 0.8])
    a = Agreement.of(y, score, 0.5)
    # at 0.5: unsafe caught 0.9 and 0.5 (2 of 3); harmless called unsafe 0.5 and 0.8 (2 of 4)
    assert (a.caught, a.unsafe, a.false_alarms, a.harmless) == (2, 3, 2, 4)
    assert a.agreement == pytest.approx(4 / 7)  # right: 0.9, 0.5 (unsafe), 0.1, 0.3 (harmless)
    # pairs (unsafe, harmless) ranked right: 0.9 beats 4; 0.5 beats 0.1, 0.3, ties 0.5; 0.2 beats 0.1
    assert a.auroc == pytest.approx((4 + 2.5 + 1) / 12)
    assert "2/4 (50.0%)" in a.row("x") and "2/3 (67%)" in a.row("x")


def test_one_line_pool_is_training_material_only() -> None:
    """The pool trains a judge, so none of its prompts may be one a reported number uses: not
    XSTest, not a test-split prompt of any set, not a prompt of the readers' validation parts."""
    from lance.datasets import list_datasets, load_dataset
    from lance.datasets._io import text_key
    from lance.judges.data import reader_labels

    pool = reader_labels("oneline")
    assert len(pool) >= 500 and all(r.kind and 1 <= r.helpful <= 5 for r in pool)
    reported = {text_key(r.prompt) for part in ("heldout", "rerun") for r in reader_labels(part)}
    for info in list_datasets():
        reported |= {text_key(r.text) for r in load_dataset(info.name) if r.split != "train" or info.role == "eval-only"}
    train = {text_key(r.text) for name in ("do_not_answer", "harmbench", "strongreject", "jbb_behaviors", "advbench",
                                           "harmfulqa", "dangerousqa") for r in load_dataset(name) if r.split == "train"}
    keys = {text_key(r.prompt) for r in pool}
    assert keys <= train
    assert not keys & reported
