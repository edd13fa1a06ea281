"""The gate-tuned encoder-top file: clear errors for a missing or foreign file."""

from __future__ import annotations

import pytest
import torch

from lance.embeddings.top import TOP_TAG, load_top
from lance.errors import ModelFileError


def test_missing_corrupt_or_foreign_top_file_is_a_clear_error(rejects_bad_files):
    rejects_bad_files(load_top, "not a LANCE encoder-top")


def test_tag_names_the_variant():
    assert TOP_TAG.startswith("+lance-top")


def test_environment_variable_points_at_a_candidate_top(tmp_path, monkeypatch):
    from lance.embeddings.top import TOP_ENV, default_top_path, save_top

    monkeypatch.setenv(TOP_ENV, str(tmp_path / "cand.pt"))
    assert default_top_path() == tmp_path / "cand.pt"
    with pytest.raises(ModelFileError, match="cand.pt"):
        load_top()
    save_top(tmp_path / "cand.pt", {"5.x": torch.zeros(1)}, name="n" + TOP_TAG, info={})
    assert load_top()["name"] == "n" + TOP_TAG
    monkeypatch.delenv(TOP_ENV)
    assert default_top_path().name == "encoder_top.pt" and default_top_path() != tmp_path / "cand.pt"
