"""At most N refiner calls in flight at the upstream.

A one-at-a-time upstream (llama.cpp's server, a single small GPU) answers requests in arrival
order. When a few risky prompts each send two or three rewrite calls, every benign request
behind them waits for all of those calls. Capping the refiner's calls in flight keeps at most
that many rewrites in the upstream's queue at once, so benign traffic (one target call each)
is not crowded out by risky traffic; the risky requests wait in LANCE instead.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from lance.backends.base import ChatModel, Completion, GenerateParams, Message, MessagesLike
from lance.errors import BackendTimeout


class SlotLimitedChatModel(ChatModel):
    """Wraps a chat model so that at most ``slots`` calls run at once (sync and async callers alike)."""

    def __init__(self, inner: ChatModel, slots: int, *, wait_timeout: float = 300.0) -> None:
        if slots < 1:
            raise ValueError("slots must be >= 1")
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = inner.name
        self.slots = slots
        self.wait_timeout = wait_timeout
        self._sem = threading.BoundedSemaphore(slots)

    def __getattr__(self, item: str) -> Any:
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)

    def _acquire(self) -> None:
        if not self._sem.acquire(timeout=self.wait_timeout):
            raise BackendTimeout(f"no refiner slot free within {self.wait_timeout:.0f} s ({self.slots} in use)")

    def generate(self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        self._acquire()
        try:
            return self.inner.generate(messages, params, **overrides)
        finally:
            self._sem.release()

    async def agenerate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        await asyncio.to_thread(self._acquire)
        try:
            return await self.inner.agenerate(messages, params, **overrides)
        finally:
            self._sem.release()

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        return self.generate(messages, params)

    def close(self) -> None:  # the inner model is owned (and closed) by whoever created it
        pass
