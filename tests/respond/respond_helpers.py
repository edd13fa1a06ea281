"""Helpers for the respond tests: a recording pass-through around real chat models."""

from __future__ import annotations

from lance.backends.base import ChatModel, Completion, GenerateParams, Message
from texts import LONG_BENIGN  # noqa: F401  (re-exported for the respond tests)


#: Short, greedy target answers keep the real-model tests fast.
FAST = GenerateParams(temperature=0.0, max_tokens=32, seed=0)


class Recording(ChatModel):
    """Passes every call to a real model and keeps the messages it was sent (not a mock)."""

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = f"recording:{inner.name}"
        # LANCE's own refiner stays recognisable (and so is prompted in its trained format)
        self.trained_format = getattr(inner, "trained_format", None)
        self.calls: list[list[Message]] = []
        #: What the model answered, call by call.
        self.outputs: list[str] = []

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        self.calls.append(list(messages))
        out = self.inner._generate(messages, params)
        self.outputs.append(out.text)
        return out

    def received(self) -> list[str]:
        """The last user turn of every call."""
        return [next(m.content for m in reversed(c) if m.role == "user") for c in self.calls]

    def saw(self, text: str) -> bool:
        return any(text in m.content for c in self.calls for m in c)

    def saw_loosely(self, text: str) -> bool:
        """``text`` in any message of any call, ignoring case and runs of whitespace (any role)."""
        needle = loose(text)
        return any(needle in loose(m.content) for c in self.calls for m in c)


def loose(text: str) -> str:
    return " ".join(text.lower().split())
