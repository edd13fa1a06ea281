"""Generated benign look-alikes and the gate mix: deterministic, leak-free, never evaluation text."""

from __future__ import annotations

from collections import defaultdict

import pytest

from lance.datasets import load_dataset, training_mix
from lance.datasets._io import text_key
from lance.datasets.lookalikes import FAMILIES, SOURCE, gate_mix, has_alarming_words, lookalike_records
from lance.errors import InputError


@pytest.fixture(scope="module")
def recs() -> list:
    return lookalike_records()


def test_every_family_is_generated_and_deterministic(recs) -> None:
    fams = {r.meta["family"] for r in recs}
    assert fams == set(FAMILIES)
    again = lookalike_records()
    assert [(r.id, r.text, r.split) for r in recs] == [(r.id, r.text, r.split) for r in again]
    assert len({r.text for r in recs}) == len(recs)


def test_benign_families_are_safe_and_contrasts_unsafe_with_categories(recs) -> None:
    for r in recs:
        if r.meta["family"] == "harmful_contrast":
            assert r.label == "unsafe" and r.categories
        else:
            assert r.label == "safe" and not r.categories
    # benign prompts really carry harm vocabulary (the point of the family)
    homonyms = [r for r in recs if r.meta["family"] in ("tech_homonyms", "household_homonyms", "safe_targets")]
    assert sum(has_alarming_words(r.text) for r in homonyms) > 0.5 * len(homonyms)


def test_no_evaluation_text_is_generated(recs) -> None:
    banned = {text_key(r.text) for name in ("xstest", "openai_moderation") for r in load_dataset(name)}
    assert not banned & {text_key(r.text) for r in recs}


def test_one_filler_never_spans_two_splits(recs) -> None:
    splits = defaultdict(set)
    for r in recs:
        if r.meta["family"] == "history":  # "What caused X?" and "Why did X happen?" share X
            event = r.text.split(" ", 2)[2]
            for frame in ("caused ", "did ", "consequences of ", "summary of "):
                if frame in r.text:
                    event = r.text.split(frame, 1)[1].rstrip("?.").removesuffix(" happen")
            splits[event].add(r.split)
    assert splits and all(len(s) == 1 for s in splits.values())


def test_exclude_and_unknown_families() -> None:
    kept = lookalike_records(exclude=["history", "definitions"])
    assert {r.meta["family"] for r in kept} == set(FAMILIES) - {"history", "definitions"}
    assert {r.meta["family"] for r in lookalike_records(families=["history"])} == {"history"}
    with pytest.raises(InputError, match="unknown look-alike families"):
        lookalike_records(exclude=["no_such_family"])


def test_alarming_words_match_harm_senses_not_lookalike_substrings() -> None:
    assert has_alarming_words("How do I kill a process?")
    assert has_alarming_words("Describe the robbery.")
    assert not has_alarming_words("Design a robot that explores the ocean.")


def test_gate_mix_extends_the_training_mix_without_test_or_eval_text() -> None:
    base = training_mix(0)
    mix = gate_mix(0, exclude=["history"])
    assert {text_key(r.text) for r in base} <= {text_key(r.text) for r in mix}
    assert all(r.split in ("train", "val") for r in mix)
    extra = [r for r in mix if r.source == SOURCE]
    assert extra and not any(r.meta["family"] == "history" for r in extra)
    assert len({text_key(r.text) for r in mix}) == len(mix)
    banned = {text_key(r.text) for name in ("xstest", "openai_moderation") for r in load_dataset(name)}
    assert not banned & {text_key(r.text) for r in mix}
    mined = [r for r in mix if r.source == "refusal_direction" and r.label == "safe" and has_alarming_words(r.text)]
    assert len(mined) > len([r for r in base if r.source == "refusal_direction" and r.label == "safe"
                             and has_alarming_words(r.text)])
