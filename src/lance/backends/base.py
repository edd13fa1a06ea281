"""The one chat-model interface every backend implements.

A backend turns a list of chat messages into text. Subclasses implement only
``_generate`` (and optionally ``_agenerate`` when they have native async I/O);
validation, parameter merging, usage accounting and timing live here so that
providers stay small.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lance.errors import InputError

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerateParams(BaseModel):
    """Sampling and limits for one call. ``None`` means "backend default"."""

    model_config = ConfigDict(frozen=True)

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=32768)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    timeout: float | None = Field(default=None, gt=0.0)


class Usage(BaseModel):
    """Token counts of one or more calls; adding two usages sums them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Completion(BaseModel):
    """What a backend returns: the text plus the facts needed for cost accounting."""

    text: str
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    model: str = ""
    latency_s: float = 0.0


MessagesLike = str | Sequence[Message | Mapping[str, Any]]


def to_messages(messages: MessagesLike) -> list[Message]:
    """Normalise a prompt string or OpenAI-style dicts into validated messages."""
    if isinstance(messages, str):
        messages = [Message(role="user", content=messages)]
    if not isinstance(messages, Sequence) or isinstance(messages, (bytes, bytearray)):
        raise InputError(
            f"messages must be a string or a list of {{role, content}} objects, got {type(messages).__name__}"
        )
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
            continue
        try:
            out.append(Message.model_validate(m))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"message {i} is invalid: {first['loc']}: {first['msg']}") from None
    if not out:
        raise InputError("no messages given: pass a non-empty prompt")
    if not any(m.role == "user" and m.content.strip() for m in out):
        raise InputError("the prompt is empty: give at least one non-empty user message")
    return out


class ChatModel(ABC):
    """A chat backend: messages in, text out, sync and async."""

    #: Short identifier shown in logs and results, e.g. ``llamacpp/gemma-3-270m``.
    name: str = "chat-model"

    def __init__(self, params: GenerateParams | None = None) -> None:
        self.default_params = params or GenerateParams()

    def _params(self, params: GenerateParams | None, overrides: Mapping[str, Any]) -> GenerateParams:
        base = params or self.default_params
        if overrides:
            clean = {k: v for k, v in overrides.items() if v is not None}
            try:
                base = GenerateParams.model_validate(base.model_dump() | clean)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InputError(f"invalid generation parameter {first['loc']}: {first['msg']}") from None
        return base

    def generate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        """Generate a completion for ``messages`` (blocking)."""
        msgs = to_messages(messages)
        p = self._params(params, overrides)
        start = time.perf_counter()
        result = self._generate(msgs, p)
        return result.model_copy(update={"latency_s": time.perf_counter() - start})

    async def agenerate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        """Generate a completion for ``messages`` without blocking the event loop."""
        msgs = to_messages(messages)
        p = self._params(params, overrides)
        start = time.perf_counter()
        result = await self._agenerate(msgs, p)
        return result.model_copy(update={"latency_s": time.perf_counter() - start})

    @abstractmethod
    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        """Provider-specific blocking call."""

    async def _agenerate(self, messages: list[Message], params: GenerateParams) -> Completion:
        """Default async path: run the blocking call in a worker thread."""
        return await asyncio.to_thread(self._generate, messages, params)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (HTTP clients, model memory)."""

    def __enter__(self) -> ChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
