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
