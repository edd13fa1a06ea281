"""Which prompts an evaluation runs on (real dataset files)."""

from __future__ import annotations

from collections import Counter

import pytest

from lance.errors import InputError
from lance.eval.items import DEFAULT_HARMFUL_SETS, harmful_mix, load_items


def test_harmful_mix_is_test_split_balanced_and_large_enough() -> None:
    recs = harmful_mix()
    assert len(recs) >= 200
    assert all(r.label == "unsafe" and r.split == "test" for r in recs)
    assert len({r.text.strip().lower() for r in recs}) == len(recs)
    first = Counter(r.source for r in recs[: 4 * len(DEFAULT_HARMFUL_SETS)])
    assert set(first) == set(DEFAULT_HARMFUL_SETS) and max(first.values()) - min(first.values()) <= 1


def test_selection_is_deterministic_and_stratified() -> None:
    a = load_items("xstest", limit=20, seed=3)
    b = load_items("xstest", limit=20, seed=3)
    assert [r.id for r in a] == [r.id for r in b]
    assert Counter(r.label for r in a) == {"safe": 10, "unsafe": 10}
    assert [r.id for r in load_items("xstest", limit=20, seed=4)] != [r.id for r in a]
    assert len(load_items("xstest")) == 450


def test_bad_names_are_one_line_errors() -> None:
    with pytest.raises(InputError, match="unknown dataset"):
        load_items("nope")
    with pytest.raises(InputError, match="limit"):
        load_items("xstest", limit=0)
    with pytest.raises(InputError, match="unknown dataset"):
        harmful_mix(["nope"])


def test_runner_rejects_a_bad_dataset_before_loading_any_model(tmp_path) -> None:
    from lance.config import BackendConfig, LanceSettings
    from lance.eval.runner import EvalArgs, Runner

    # the model file does not exist: had the runner loaded the target first, the error would name it
    settings = LanceSettings(backend=BackendConfig(model_path=str(tmp_path / "absent.gguf")))
    with pytest.raises(InputError, match="unknown dataset 'xstset'"):
        Runner(settings, EvalArgs(datasets=["xstset"]), tmp_path / "run")
    with pytest.raises(InputError, match="unknown harmful set 'nope'"):
        Runner(settings, EvalArgs(datasets=["harmful"], harmful_sets=["nope"]), tmp_path / "run")
    assert not (tmp_path / "run").exists()
