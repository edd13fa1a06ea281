"""Fixtures for the LE tests: a few hundred real records, embedded once, and a tiny model."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lance.datasets import Record


@pytest.fixture()
def rejects_bad_files(tmp_path):
    """Check that ``load(path)`` names a missing, an unreadable and a foreign torch file clearly."""
    import torch

    from lance.errors import ModelFileError

    def check(load, foreign_message: str) -> None:
        with pytest.raises(ModelFileError, match="not found"):
            load(tmp_path / "missing.pt")
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"\x00not a torch file")
        with pytest.raises(ModelFileError, match="unreadable"):
            load(bad)
        torch.save({"something": 1}, bad)
        with pytest.raises(ModelFileError, match=foreign_message):
            load(bad)

    return check


@pytest.fixture(scope="session")
def small_records() -> list[Record]:
    """~300 real training-mix records: categorised unsafe, uncategorised unsafe, benign."""
    from lance.datasets import training_mix

    mix = training_mix(0)
    rng = random.Random(0)
    cat = [r for r in mix if r.label == "unsafe" and r.categories]
    uncat = [r for r in mix if r.label == "unsafe" and not r.categories]
    safe = [r for r in mix if r.label == "safe"]
    return rng.sample(cat, 100) + rng.sample(uncat, 50) + rng.sample(safe, 150)


@pytest.fixture(scope="session")
def small_embeddings(small_records: list[Record], encoder: object) -> np.ndarray:
    from lance.embeddings.cache import embed

    return embed([r.text for r in small_records], encoder)  # type: ignore[arg-type]
