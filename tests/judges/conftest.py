"""Judges fixtures: the shipped detector and an embedding cache, loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def detector(encoder):  # noqa: ANN001, ANN201 - encoder comes from tests/conftest.py
    from lance.judges.refusal import RefusalDetector

    return RefusalDetector(encoder=encoder)


@pytest.fixture(scope="session")
def emb_cache(encoder):  # noqa: ANN001, ANN201
    """Disk-cached embeddings (``~/.cache/lance/judges``): the first run encodes, later runs reuse."""
    from lance.judges.training import EmbeddingCache

    return EmbeddingCache(encoder)
