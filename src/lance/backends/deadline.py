"""One time budget per request: every LLM call, retry and wait made for it ends by its deadline.

The server opens a scope per request (``within(seconds)``); each backend asks ``call_timeout``
how long the call in hand may take, which is its own timeout cut to what is left of the budget,
and gives up with ``BackendTimeout`` once the budget is spent. So a request never outlives its
timeout: its retries stop, a llama.cpp generation stops at the next token, and a wait for the
model's lock or a refiner slot ends. That is how abandoned work is cancelled and gives its
admission slot back.

The deadline lives in a ``ContextVar`` (monotonic seconds), so it follows the request into the
worker threads that copy its context, and concurrent requests never share one. A nested scope
can only shorten the deadline, never extend it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from lance.errors import BackendTimeout

_DEADLINE: ContextVar[float | None] = ContextVar("lance_request_deadline", default=None)


@contextmanager
def until(deadline: float | None) -> Iterator[None]:
    """Calls inside the block end by ``deadline`` (``time.monotonic()`` seconds; ``None``: no new bound)."""
    outer = _DEADLINE.get()
    if deadline is None or (outer is not None and outer <= deadline):
        yield
        return
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Calls inside the block end within ``seconds`` from now."""
    with until(None if seconds is None else time.monotonic() + seconds):
        yield


def time_left() -> float | None:
    """Seconds left of the current request's budget (may be ≤ 0); ``None`` when there is no budget."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def check(what: str = "the call") -> None:
    """Raise ``BackendTimeout`` when the request's budget is spent."""
    left = time_left()
    if left is not None and left <= 0:
        raise BackendTimeout(f"the request's time budget ran out before {what}")


def call_timeout(timeout: float | None, what: str = "the call") -> float | None:
    """How long a call may take: its own ``timeout`` cut to the request's remaining budget.

    ``None`` only when neither bounds it. Raises ``BackendTimeout`` when the budget is spent.
    """
    check(what)
    left = time_left()
    if left is None:
        return timeout
    return left if timeout is None else min(timeout, left)
