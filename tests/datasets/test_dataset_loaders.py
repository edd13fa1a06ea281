"""Every loader on the real data files: row counts as stated in each SOURCE.md,
non-empty texts, valid categories, deterministic splits, and the original labels
kept in meta."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lance.datasets import data_dir, deterministic_split, list_datasets, load_dataset, load_rewrite_pairs
from lance.datasets._io import text_key
from lance.datasets.paths import dataset_dir
from lance.errors import ConfigError
from lance.taxonomy import load_taxonomy
from lance.taxonomy.maps import IBM_CAST

NAMES = [i.name for i in list_datasets()]

#: (records, safe, unsafe) from the SOURCE.md row counts. Notes: coconot = eval 1001 +
#: contrast 379 + pref 927, unsafe = the 395 "Requests with safety concerns" minus the
#: one garbled "incomprehensible" row; ibm_cast = condition_multiple 1200 x (base + 5
#: rewrites) + condition_harmful 4500 harmful + its 994 distinct harmless partners.
EXPECTED = {
    "xstest": (450, 250, 200),
    "do_not_answer": (939, 0, 939),
    "harmbench": (400, 0, 400),
    "jbb_behaviors": (100, 0, 100),
    "strongreject": (313, 0, 313),
    "coconot": (2307, 1913, 394),
    "advbench": (520, 0, 520),
    "dangerousqa": (200, 0, 200),
    "harmfulqa": (1960, 0, 1960),
    "pair_custom_behaviors": (50, 0, 50),
    "openai_moderation": (1680, 1158, 522),
    "ibm_cast": (12694, 2194, 10500),
    "refusal_direction": (32194, 31323, 871),
    "alpaca_eval": (805, 805, 0),
    "mt_bench": (80, 80, 0),
    "vicuna_bench": (80, 80, 0),
    "arena_hard": (500, 500, 0),
    "self_instruct_user_oriented": (252, 252, 0),
}


def test_every_registered_dataset_has_expected_counts() -> None:
    assert set(NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_counts_match_source_md(name: str) -> None:
    recs = load_dataset(name)
    labels = Counter(r.label for r in recs)
    assert (len(recs), labels["safe"], labels["unsafe"]) == EXPECTED[name]


@pytest.mark.parametrize("name", NAMES)
def test_records_are_well_formed(name: str) -> None:
    risk = set(load_taxonomy().risk_ids)
    recs = load_dataset(name)
    assert len({r.id for r in recs}) == len(recs), "ids must be unique"
    for r in recs:
        assert r.text.strip() and r.text == r.text.strip()
        assert r.source == name and r.id.startswith(f"{name}:")
        assert set(r.categories) <= risk
        assert r.label == "unsafe" or not r.categories, "a safe record cannot carry a risk category"
        # The split hashes the normalised text, so copies of a prompt share a split.
        assert r.split == deterministic_split(text_key(r.text))


def test_splits_are_fixed_across_runs_and_machines() -> None:
    # Hard-coded: these must never change, or held-out test prompts leak into training.
    assert deterministic_split(text_key("How can I kill a Python process?")) == "test"
    assert deterministic_split("abc") == "train"
    recs = load_dataset("openai_moderation")
    assert [r.split for r in recs[:5]] == ["train", "train", "test", "train", "train"]


def test_split_fractions_are_about_70_10_20() -> None:
    recs = load_dataset("refusal_direction")
    frac = {k: v / len(recs) for k, v in Counter(r.split for r in recs).items()}
    assert abs(frac["train"] - 0.7) < 0.02 and abs(frac["val"] - 0.1) < 0.02 and abs(frac["test"] - 0.2) < 0.02


def test_same_text_in_two_datasets_has_one_split() -> None:
    splits: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    names = ("advbench", "pair_custom_behaviors", "strongreject", "refusal_direction", "jbb_behaviors", "harmbench")
    for name in names:
        for r in load_dataset(name):
            splits.setdefault(text_key(r.text), set()).add(r.split)
            sources.setdefault(text_key(r.text), set()).add(name)
    assert not [k for k, s in splits.items() if len(s) > 1]
    # the check is not vacuous: PAIR's 50 are AdvBench rows, JBB/HarmBench rows recur in refusal_direction
    assert sum(len(s) > 1 for s in sources.values()) > 300


def test_xstest_keeps_type_and_label() -> None:
    recs = load_dataset("xstest")
    types = Counter((r.label, r.meta["type"]) for r in recs)
    assert types[("safe", "homonyms")] == 25 and types[("unsafe", "contrast_privacy")] == 25
    assert all(r.meta["type"].startswith("contrast_") == (r.label == "unsafe") for r in recs)


def test_do_not_answer_meta_counts() -> None:
    recs = load_dataset("do_not_answer")
    harm = Counter(r.meta["types_of_harm"] for r in recs)
    assert harm["Assisting illegal activities"] == 132 and harm["Adult Content"] == 28
    assert len({r.meta["specific_harm"] for r in recs}) == 61
    assert all(r.categories == ("S11",) for r in recs if r.meta["specific_harm"] == "Self-Harm")


def test_harmbench_categories_and_own_split() -> None:
    recs = load_dataset("harmbench")
    sem = Counter(r.meta["semantic_category"] for r in recs)
    assert sem == {"copyright": 100, "cybercrime_intrusion": 67, "illegal": 65, "misinformation_disinformation": 65,
                   "chemical_biological": 56, "harassment_bullying": 25, "harmful": 22}
    assert Counter(r.meta["orig_split"] for r in recs) == {"val": 80, "test": 320}
    assert sum(r.categories == ("S9",) for r in recs) == 56
    contextual = [r for r in recs if r.meta["functional_category"] == "contextual"]
    assert len(contextual) == 100 and all("\n\n---\n\n" in r.text for r in contextual)


def test_jbb_and_strongreject_original_categories() -> None:
    jbb = Counter(r.meta["category"] for r in load_dataset("jbb_behaviors"))
    assert len(jbb) == 10 and set(jbb.values()) == {10}
    sr = Counter(r.meta["category"] for r in load_dataset("strongreject"))
    assert sr["Non-violent crimes"] == 59 and sr["Sexual content"] == 50


def test_coconot_only_safety_subcategories_are_unsafe() -> None:
    recs = load_dataset("coconot")
    unsafe = [r for r in recs if r.label == "unsafe"]
    assert all(r.meta["file"] == "eval" and r.meta["category"] == "Requests with safety concerns" for r in unsafe)
    assert Counter(r.meta["subcategory"] for r in unsafe)["privacy violations"] == 88
    noncompliance = [r for r in recs if r.label == "safe" and not r.meta["should_comply"]]
    assert len(noncompliance) == 1001 - 394  # underspecified, modality, subjective, humanizing ...
    assert Counter(r.meta["file"] for r in recs) == {"eval": 1001, "contrast": 379, "pref": 927}


def test_openai_moderation_keeps_raw_labels_and_known_negatives() -> None:
    recs = load_dataset("openai_moderation")
    pos = Counter(k for r in recs for k in r.meta["positive_labels"])
    assert pos == {"S": 237, "H": 162, "V": 94, "HR": 76, "SH": 51, "S3": 85, "H2": 41, "V2": 24}
    missing = Counter(k for r in recs for k in r.meta["unknown_labels"])
    assert missing == {"S": 696, "H": 909, "V": 230, "HR": 236, "SH": 233, "S3": 686, "H2": 919, "V2": 233}
    for r in recs:
        assert (r.label == "unsafe") == bool(r.meta["positive_labels"])
        assert not set(r.categories) & set(r.meta["negative_categories"])
        assert r.meta["fully_labelled"] == (not r.meta["unknown_labels"])
        if r.meta["labels"].get("S3") == 1:
            assert "S4" in r.categories
        if r.meta["labels"].get("SH") == 0:
            assert "S11" in r.meta["negative_categories"]
    # a harassment-only text is unsafe with no known category
    assert any(r.meta["positive_labels"] == ["HR"] and r.categories == () for r in recs)


def test_refusal_direction_own_splits() -> None:
    recs = load_dataset("refusal_direction")
    got = Counter((r.meta["kind"], r.meta["orig_split"]) for r in recs)
    assert got == {("harmful", "train"): 260, ("harmful", "val"): 39, ("harmful", "test"): 572,
                   ("harmless", "train"): 18793, ("harmless", "val"): 6264, ("harmless", "test"): 6266}


def test_benign_sets_keep_their_origin() -> None:
    assert Counter(r.meta["origin"] for r in load_dataset("alpaca_eval"))["selfinstruct"] == 252
    mt = load_dataset("mt_bench")
    assert all(len(r.meta["turns"]) == 2 and r.text == r.meta["turns"][0] for r in mt)
    assert len({r.meta["cluster"] for r in load_dataset("arena_hard")}) == 250


def test_rewrite_pairs() -> None:
    pairs = load_rewrite_pairs()
    assert len(pairs) == 1200 * 5
    harmful, benign, cats = pairs[0]
    assert harmful != benign and cats in IBM_CAST.values()
    assert Counter(p.categories for p in pairs)[("S10",)] == 1200  # hate_speech
    test = load_rewrite_pairs("test")
    assert 0 < len(test) < len(pairs)


def test_loading_is_cached_but_returns_a_fresh_list() -> None:
    a, b = load_dataset("mt_bench"), load_dataset("mt_bench")
    assert a == b and a is not b and a[0] is b[0]


def test_data_dir_default_is_the_repo_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANCE_DATA_DIR", raising=False)
    assert (data_dir() / "xstest" / "SOURCE.md").is_file()


def test_data_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANCE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(ConfigError, match="LANCE_DATA_DIR"):
        dataset_dir("xstest")
    monkeypatch.setenv("LANCE_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="is not a folder.*LANCE_DATA_DIR"):
        data_dir()


def test_missing_data_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lance.datasets.harmful import load_dangerousqa

    (tmp_path / "dangerousqa").mkdir()
    monkeypatch.setenv("LANCE_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="dangerousqa.json is missing"):
        load_dangerousqa()
