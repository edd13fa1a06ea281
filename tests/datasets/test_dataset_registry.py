"""Registry metadata and the label-enhancement training mix."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from lance.datasets import data_dir, dataset_info, list_datasets, load_dataset, training_mix
from lance.datasets._io import text_key
from lance.errors import InputError

#: Folders whose rows are labelled *responses*, read by the judges helper, not loaded as prompts.
RESPONSE_SETS = {"hh_rlhf_harmless", "jailbreakeval_judge", "jbb_artifacts", "judge_labels"}
#: Written for the project and read by its own tools, not prompt datasets of the registry.
PROJECT_SETS = {"refiner_train", "attacks"}  # written for the project: training data, the attack set
EXCLUDED = {"xstest", "openai_moderation"}


@pytest.fixture(scope="module")
def mix() -> list:
    return training_mix(0)


def test_every_prompt_folder_is_registered() -> None:
    folders = {p.name for p in data_dir().iterdir() if (p / "SOURCE.md").is_file()}
    assert {i.name for i in list_datasets()} == folders - RESPONSE_SETS - PROJECT_SETS


@pytest.mark.parametrize("info", list_datasets(), ids=lambda i: i.name)
def test_license_summary_comes_from_source_md(info) -> None:
    source = (data_dir() / info.name / "SOURCE.md").read_text(encoding="utf-8").casefold()
    terms = re.findall(r"MIT|Apache-2\.0|CC[- ]BY(?:-NC)?[- ]4\.0|CC BY-NC", info.license)
    assert terms, info.license
    for term in terms:
        assert term.casefold() in source, term
    assert info.noncommercial == ("NC" in info.license)


def test_roles() -> None:
    roles = {i.name: i.role for i in list_datasets()}
    assert roles["xstest"] == "eval-only" and roles["openai_moderation"] == "eval"
    assert roles["harmbench"] == "train"


def test_unknown_dataset_lists_valid_names() -> None:
    with pytest.raises(InputError, match="unknown dataset 'nope'; valid names: xstest, .*arena_hard"):
        load_dataset("nope")
    with pytest.raises(InputError):
        dataset_info("nope")


def test_mix_never_contains_excluded_sets(mix) -> None:
    assert not {r.source for r in mix} & EXCLUDED
    merged = {i.split(":")[0] for r in mix for i in r.meta.get("merged_from", [])}
    assert not merged & EXCLUDED
    xs = {text_key(r.text) for r in load_dataset("xstest")}
    assert not xs & {text_key(r.text) for r in mix}


def test_mix_holds_out_the_test_split(mix) -> None:
    assert {r.split for r in mix} == {"train", "val"}
    train_sets = [i.name for i in list_datasets() if i.role == "train"]
    held_out = {text_key(r.text) for name in train_sets for r in load_dataset(name) if r.split == "test"}
    assert not held_out & {text_key(r.text) for r in mix}


def test_mix_is_deduplicated_and_merges_categories(mix) -> None:
    keys = [text_key(r.text) for r in mix]
    assert len(keys) == len(set(keys))
    assert all(r.text.strip() for r in mix)
    merged = [r for r in mix if r.meta.get("merged_from")]
    assert len(merged) > 100
    # a JBB behaviour copied into refusal_direction's test file keeps JBB's first record
    by_id = {r.id: r for r in mix}
    jbb_privacy = [r for r in load_dataset("jbb_behaviors") if r.meta["category"] == "Privacy" and r.id in by_id]
    assert jbb_privacy and all("S7" in by_id[r.id].categories for r in jbb_privacy)


def test_mix_composition(mix) -> None:
    labels = Counter(r.label for r in mix)
    assert labels["unsafe"] > 3000 and labels["safe"] > 4000
    cats = Counter(c for r in mix for c in r.categories)
    for cid in ("S1", "S2", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S14"):
        assert cats[cid] >= 10, (cid, cats[cid])
    sources = Counter(r.source for r in mix)
    assert sources["refusal_direction"] <= 3000 + 871
    expected = ("do_not_answer", "harmbench", "strongreject", "coconot", "advbench", "harmfulqa", "alpaca_eval")
    for name in (*expected, "arena_hard"):
        assert sources[name] > 0, name
    coconot = [r for r in mix if r.source == "coconot"]
    assert all(r.label == "safe" or r.meta["safety_related"] for r in coconot)
    assert not [r for r in coconot if r.meta["should_comply"] is False and r.label == "safe"]


def test_mix_is_deterministic_per_seed(mix) -> None:
    again = training_mix(0)
    assert [r.id for r in again] == [r.id for r in mix]
    other = training_mix(1)
    assert [r.id for r in other] != [r.id for r in mix]
    uncapped = training_mix(0, max_per_part=None)
    assert Counter(r.source for r in uncapped)["refusal_direction"] > 20000


def test_mix_without_noncommercial_sets() -> None:
    nc = {i.name for i in list_datasets() if i.noncommercial}
    assert {"refusal_direction", "alpaca_eval"} <= nc
    mix = training_mix(0, noncommercial=False)
    assert not {r.source for r in mix} & nc
    assert not {i.split(":")[0] for r in mix for i in r.meta.get("merged_from", [])} & nc
    assert Counter(r.label for r in mix)["safe"] > 1000  # benchmarks + CoCoNot look-alikes remain


def test_contextual_behaviours_can_put_their_request_first(mix) -> None:
    """As given, a HarmBench contextual behaviour opens with its benign context; the training
    view puts the request where an encoder reading the opening sees it, and keeps the context."""
    from lance.datasets.registry import request_first

    given = {r.id: r for r in mix if r.meta.get("functional_category") == "contextual"}
    assert len(given) > 50
    viewed = {r.id: r for r in training_mix(0, contextual_request_first=True)}
    assert set(viewed) == {r.id for r in mix}  # same records, only texts differ
    for rid, r in given.items():
        context, request = r.text.rsplit("\n\n---\n\n", 1)
        v = viewed[rid]
        assert v.text.startswith(request) and v.text.endswith(context) and v.meta["request_first"]
        assert v.label == r.label == "unsafe" and v.categories == r.categories
    others = [r for r in mix if r.id not in given][:200]
    assert all(request_first(r) is r for r in others)
    assert all(viewed[r.id].text == r.text for r in others)
