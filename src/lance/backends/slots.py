"""Refiner calls yield to target calls at the upstream.

A one-at-a-time upstream (llama.cpp's server, a single small GPU) answers requests in arrival
order. When a few risky prompts each send two or three rewrite calls, every benign request
behind them waits for all of those calls. Two limits keep benign traffic (one target call
each) from being crowded out by risky traffic, so the risky requests wait in LANCE instead:

* at most ``slots`` refiner calls are in flight at once;
* a refiner call first waits (at most ``max_defer`` seconds, so it is never starved) until no
  target call is queued or running (``TargetTracker``).

Both waits end by the request's deadline (``deadline``): a request out of time stops waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lance.backends.base import ChatModel, Completion, GenerateParams, MessagesLike
from lance.backends.deadline import call_timeout, time_left
from lance.errors import BackendTimeout
from lance.backends.wrappers import DelegatingChatModel


class TargetTracker:
    """Counts target calls queued or running; lets refiner calls wait until there are none."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._cond:
            self._pending += 1
        try:
            yield
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no target call is pending or ``timeout`` seconds passed; True when idle."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=max(0.0, timeout))


class TrackedChatModel(DelegatingChatModel):
    """The target model, with each call counted by a ``TargetTracker``; otherwise transparent."""

    def __init__(self, inner: ChatModel, tracker: TargetTracker) -> None:
        super().__init__(inner)
        self.tracker = tracker

    def generate(self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        with self.tracker.call():
            return self.inner.generate(messages, params, **overrides)

    async def agenerate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        with self.tracker.call():
            return await self.inner.agenerate(messages, params, **overrides)

    def close(self) -> None:  # the inner model is owned (and closed) by whoever created it
        pass


class SlotLimitedChatModel(DelegatingChatModel):
    """Wraps a chat model so that at most ``slots`` calls run at once (sync and async callers alike).

    With ``yield_to``, each call also waits up to ``max_defer`` seconds for the target to be idle.
    """

    def __init__(
        self,
        inner: ChatModel,
        slots: int,
        *,
        wait_timeout: float = 300.0,
        yield_to: TargetTracker | None = None,
        max_defer: float = 0.0,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be >= 1")
        super().__init__(inner)
        self.slots = slots
        self.wait_timeout = wait_timeout
        self._sem = threading.BoundedSemaphore(slots)
        self.yield_to = yield_to
        self.max_defer = max_defer
        #: Seconds calls spent deferring to target calls (diagnostics).
        self.deferred_s = 0.0

    def _acquire(self) -> None:
        wait = call_timeout(self.wait_timeout, "a refiner slot was free")
        assert wait is not None
        if not self._sem.acquire(timeout=wait):
            raise BackendTimeout(f"no refiner slot free within {wait:.1f} s ({self.slots} in use)")
        if self.yield_to is not None and self.max_defer > 0:
            start = time.perf_counter()
            left = time_left()
            self.yield_to.wait_idle(self.max_defer if left is None else min(self.max_defer, left))
            self.deferred_s += time.perf_counter() - start

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

    def close(self) -> None:  # the inner model is owned (and closed) by whoever created it
        pass
