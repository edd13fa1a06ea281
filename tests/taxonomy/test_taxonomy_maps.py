"""Label maps: every label in the real data files has an entry, every id exists, and
a few mappings carry the meaning they should."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lance.datasets import data_dir
from lance.errors import ConfigError
from lance.taxonomy import load_taxonomy
from lance.taxonomy.maps import MAPS, do_not_answer_key, map_label, map_labels


def _csv(rel: str) -> list[dict[str, str]]:
    with (data_dir() / rel).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _jsonl(rel: str) -> list[dict]:
    return [json.loads(line) for line in (data_dir() / rel).read_text(encoding="utf-8").splitlines() if line.strip()]


def _labels_in_data() -> dict[str, set[str]]:
    """Read straight from the files (not through the loaders) so the check is independent."""
    d = data_dir()
    rd: set[str] = set()
    for split in ("train", "val", "test"):
        rows = json.loads((d / f"refusal_direction/splits/harmful_{split}.json").read_text())
        rd |= {r["category"] for r in rows if r["category"]}
    coconot: set[str] = set()
    for name in ("coconot_eval.jsonl", "coconot_contrast_eval.jsonl", "coconot_pref.jsonl"):
        safety = [r for r in _jsonl(f"coconot/{name}") if r["category"] == "Requests with safety concerns"]
        coconot |= {r["subcategory"] for r in safety}
    multi = json.loads((d / "ibm_cast/condition_multiple.json").read_text())
    return {
        "harmbench": {r["SemanticCategory"] for r in _csv("harmbench/harmbench_behaviors_text_all.csv")},
        "jbb_behaviors": {r["Category"] for r in _csv("jbb_behaviors/harmful-behaviors.csv")},
        "strongreject": {r["category"] for r in _csv("strongreject/strongreject_dataset.csv")},
        "do_not_answer": {do_not_answer_key(r["specific_harms"]) for r in _csv("do_not_answer/do_not_answer_en.csv")},
        "coconot": coconot,
        "openai_moderation": {k for r in _jsonl("openai_moderation/samples-1680.jsonl") for k in r if k != "prompt"},
        "refusal_direction": rd,
        "ibm_cast": {k for s in multi.values() for r in s for k in r if k != "base"},
    }


LABELS = _labels_in_data()


@pytest.mark.parametrize("dataset", sorted(MAPS))
def test_every_label_in_the_data_is_in_the_table(dataset: str) -> None:
    missing = LABELS[dataset] - set(MAPS[dataset])
    assert not missing, f"{dataset}: labels without a map entry: {sorted(missing)}"


@pytest.mark.parametrize("dataset", sorted(set(MAPS) - {"refusal_direction"}))  # that one is a union of three
def test_table_has_no_stale_labels(dataset: str) -> None:
    # A table entry no data file uses is a typo or a renamed label.
    stale = set(MAPS[dataset]) - LABELS[dataset]
    assert not stale, f"{dataset}: entries matching no label in the data: {sorted(stale)}"


def test_vocabulary_sizes_match_source_md() -> None:
    assert len(LABELS["harmbench"]) == 7
    assert len(LABELS["jbb_behaviors"]) == 10
    assert len(LABELS["strongreject"]) == 6
    assert len(LABELS["do_not_answer"]) == 61
    assert len(LABELS["openai_moderation"]) == 8
    assert len(LABELS["refusal_direction"]) == 22


def test_every_mapped_id_is_a_risk_category_of_the_default_taxonomy() -> None:
    risk = set(load_taxonomy().risk_ids)
    for dataset, table in MAPS.items():
        for label, ids in table.items():
            assert isinstance(ids, tuple), (dataset, label)
            assert set(ids) <= risk, (dataset, label, ids)
            assert len(set(ids)) == len(ids), (dataset, label, ids)


@pytest.mark.parametrize(
    ("dataset", "label", "expected"),
    [
        ("harmbench", "chemical_biological", ("S9",)),
        ("harmbench", "copyright", ("S8",)),
        ("harmbench", "illegal", ()),
        ("openai_moderation", "SH", ("S11",)),
        ("openai_moderation", "S3", ("S4",)),
        ("openai_moderation", "S", ("S12",)),
        ("openai_moderation", "H", ("S10",)),
        ("openai_moderation", "HR", ()),
        ("jbb_behaviors", "Privacy", ("S7",)),
        ("jbb_behaviors", "Expert advice", ("S6",)),
        ("strongreject", "Violence", ("S1",)),
        ("do_not_answer", "Self-Harm: This refers to behaviors where individuals ...", ("S11",)),
        ("do_not_answer", "Defamatory Content", ("S5",)),
        ("coconot", "privacy violations", ("S7",)),
        ("coconot", "copyright violations", ("S8",)),
        ("refusal_direction", "Malware/Hacking", ("S2", "S14")),
    ],
)
def test_semantic_spot_checks(dataset: str, label: str, expected: tuple[str, ...]) -> None:
    assert map_label(dataset, label) == expected


def test_a_label_may_map_to_several_ids() -> None:
    assert set(map_label("openai_moderation", "H2")) == {"S10", "S1"}
    assert map_labels("openai_moderation", ["V", "H2", "S3"]) == ("S1", "S10", "S4")


def test_unknown_dataset_raises() -> None:
    with pytest.raises(ConfigError, match="no label map for dataset 'nope'.*harmbench"):
        map_label("nope", "x")


def test_unknown_label_raises_instead_of_vanishing() -> None:
    with pytest.raises(ConfigError, match="'cooking'.*harmbench"):
        map_label("harmbench", "cooking")


def test_maps_module_does_not_depend_on_data_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANCE_DATA_DIR", str(tmp_path))
    assert map_label("harmbench", "chemical_biological") == ("S9",)
