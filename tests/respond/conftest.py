"""Fixtures for the respond tests: the real LE assessor and recording wrappers around the real model."""

from __future__ import annotations

import pytest
from respond_helpers import Recording

from lance.backends.base import ChatModel


@pytest.fixture(scope="session")
def assessor() -> object:
    from lance.assess.assessor import default_assessor

    return default_assessor()


@pytest.fixture
def target(embedded_model: ChatModel) -> Recording:
    return Recording(embedded_model)


@pytest.fixture
def refiner(own_refiner: ChatModel) -> Recording:
    """LANCE's own refiner (the default), recorded."""
    return Recording(own_refiner)

