"""Checkpoints round-trip and refuse a mismatched taxonomy or encoder with a clear message."""

from __future__ import annotations

import pytest
import torch

from lance.assess.checkpoint import LECheckpoint, default_checkpoint_path, load_checkpoint
from lance.assess.model import LEHyperParams, LEModel
from lance.errors import ModelFileError
from lance.taxonomy import load_taxonomy


@pytest.fixture()
def ckpt_file(tmp_path):
    tax = load_taxonomy()
    model = LEModel(384, len(tax.ids), LEHyperParams(hidden=16))
    ck = LECheckpoint(model, tax.fingerprint(), tax.ids, "all-MiniLM-L6-v2", info={"seed": 1})
    return ck.save(tmp_path / "le.pt"), model


def test_round_trip_keeps_weights_and_metadata(ckpt_file):
    path, model = ckpt_file
    tax = load_taxonomy()
    loaded = load_checkpoint(path, taxonomy_fingerprint=tax.fingerprint(), encoder_name="all-MiniLM-L6-v2")
    assert loaded.taxonomy_ids == tax.ids and loaded.info == {"seed": 1}
    assert loaded.model.hp.hidden == 16
    x = torch.randn(3, 384)
    model.eval()
    assert torch.allclose(model.predict(x)[0], loaded.model.predict(x)[0])


def test_taxonomy_mismatch_is_a_clear_error(ckpt_file, tmp_path):
    path, _ = ckpt_file
    other = tmp_path / "tax.yaml"
    other.write_text(
        "name: two\nversion: 1\ncategories:\n"
        "  - {id: safe, name: Safe, description: ok, directive: none, action: pass}\n"
        "  - {id: X1, name: Bad, description: bad, directive: drop it}\n"
    )
    fp = load_taxonomy(other).fingerprint()
    with pytest.raises(ModelFileError, match="taxonomy .*retrain it with `lance train-le`"):
        load_checkpoint(path, taxonomy_fingerprint=fp)


def test_encoder_mismatch_is_a_clear_error(ckpt_file):
    path, _ = ckpt_file
    with pytest.raises(ModelFileError, match="encoder 'all-MiniLM-L6-v2' but the configured encoder is '/models/other'"):
        load_checkpoint(path, encoder_name="/models/other")


def test_missing_and_corrupt_files(rejects_bad_files):
    rejects_bad_files(load_checkpoint, "not a LANCE LE checkpoint")


def test_shipped_checkpoint_is_small_and_matches_the_default_setup():
    path = default_checkpoint_path()
    assert path.is_file() and path.stat().st_size < 5 * 1024 * 1024
    # the shipped gate: the LE head on MiniLM with its top layers tuned (`lance train-gate`)
    ck = load_checkpoint(
        None, taxonomy_fingerprint=load_taxonomy().fingerprint(), encoder_name="all-MiniLM-L6-v2+lance-top-v1"
    )
    assert ck.info.get("command", "").startswith("python -m lance.assess.finetune --n-top 3")
    assert "xstest" not in ck.info["sources"]  # evaluation only, never trained on
    top = path.with_name("encoder_top.pt")
    assert top.is_file() and top.stat().st_size < 15 * 1024 * 1024
