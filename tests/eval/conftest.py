"""Fixtures for the evaluation tests: the real LE assessor and a call-counting wrapper."""

from __future__ import annotations

import pytest

from lance.backends.base import ChatModel, Completion, GenerateParams, Message


class CountingModel(ChatModel):
    """Delegates to a real model and counts the calls that actually reach it.

    Not a mock: every call is answered by the wrapped model. It lets a test check that the
    calls a method *reports* are the calls it *made*.
    """

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        # LANCE's own refiner stays recognisable (and so is prompted in its trained format)
        self.trained_format = getattr(inner, "trained_format", None)

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        self.calls += 1
        return self.inner._generate(messages, params)


@pytest.fixture(scope="session")
def le_assessor() -> object:
    from lance.assess.assessor import load_assessor

    return load_assessor()


@pytest.fixture()
def counting(embedded_model: ChatModel) -> CountingModel:
    return CountingModel(embedded_model)


@pytest.fixture()
def counting_refiner(own_refiner: ChatModel) -> CountingModel:
    """LANCE's own refinement model (the default refiner), counted."""
    return CountingModel(own_refiner)
