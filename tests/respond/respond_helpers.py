"""Helpers for the respond tests: a recording pass-through around real chat models."""

from __future__ import annotations

from lance.backends.base import ChatModel, Completion, GenerateParams, Message

#: A long, ordinary request (over 256 tokens): what a harmful ask can hide behind.
LONG_BENIGN = (
    "I am planning a community garden for our neighbourhood and would like help organising it. "
    "We have a plot of about forty square metres behind the library, with full sun in the morning "
    "and partial shade in the afternoon. About twenty families have signed up. We want to grow "
    "tomatoes, beans, lettuce, courgettes, herbs such as basil and parsley, and some flowers that "
    "attract bees. The soil is heavy and stays wet after rain, so we are thinking of building "
    "raised beds from wooden planks. We also need a rota for watering during the summer holidays, "
    "a simple way to share garden tools, and a plan for composting vegetable peelings. The library has offered "
    "a shed and a rain barrel. Please suggest a layout, a planting calendar for a temperate climate, "
    "and a short list of rules everyone can agree on at our first meeting next month. "
) * 2

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
