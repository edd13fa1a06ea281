"""The real label-enhancement assessor, loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def assessor() -> object:
    from lance.assess.assessor import default_assessor

    return default_assessor()
