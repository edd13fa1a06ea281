"""What the server learned about one HTTP request while serving it: id, status, decision, LLM calls.

The observing middleware (``lance.server.observe``) opens a ``RequestTrace`` per request and
keeps it in a ``ContextVar``. The endpoint, the exception handlers and the responder write
onto that same object (the pipeline's worker task and thread copy the context, and the
context holds a reference, not a copy), so the metrics and the decision log can read the
gate's decision even when the request ended in an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lance.backends.events import CallEvent
    from lance.server.engine import ProxyResult

_TRACE: ContextVar[RequestTrace | None] = ContextVar("lance_request_trace", default=None)


@dataclass
class RequestTrace:
    """One request as served; filled in while it runs, read when its response is done."""

    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    #: Wall-clock start (seconds since the epoch), for the log line.
    started_at: float = field(default_factory=time.time)
    #: The HTTP status sent; ``None`` until the response starts.
    status: int | None = None
    #: The OpenAI error ``code`` of an error response (``invalid_value``, ``upstream_timeout``, ...).
    error_code: str | None = None
    #: The assessed text (the last user turn), kept only for ``server.log_prompts``.
    prompt: str | None = None
    #: The pipeline's outcome, also when the answer then failed (502/504).
    result: ProxyResult | None = None
    #: The request's LLM calls recorded so far (the pipeline may still run after a 504).
    events: list[CallEvent] = field(default_factory=list)
    #: Seconds from the first byte in to the last byte out; set when the response is done.
    duration_s: float | None = None

    def finish(self) -> None:
        self.duration_s = time.perf_counter() - self.started


@contextmanager
def tracing(trace: RequestTrace) -> Iterator[RequestTrace]:
    """Make ``trace`` the current request's trace for the block."""
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


def current_trace() -> RequestTrace | None:
    """The trace of the request being served here; ``None`` outside a traced request."""
    return _TRACE.get()


def note_result(result: ProxyResult) -> None:
    """Record the pipeline's outcome on the current request's trace (no-op outside one)."""
    trace = _TRACE.get()
    if trace is not None:
        trace.result = result


def note_error(code: str | None) -> None:
    """Record the error code of the error response being sent (no-op outside a traced request)."""
    trace = _TRACE.get()
    if trace is not None:
        trace.error_code = code
