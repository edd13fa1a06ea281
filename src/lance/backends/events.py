"""Every LLM call is an event: which role made it, what it cost, whether it failed.

``RecordedChatModel`` is the one call-recording wrapper: the pipeline gives each of its chat
models a role (``target``, ``refiner``, ``refusal_writer``, ``critique``, ``judge``) and every
call, successful or not, becomes a ``CallEvent`` in the current ``record_calls()`` scope. The
result's ``llm_calls`` and ``usage`` are derived from the events, and the proxy reads the last
event to tell a real answer from a fallback written after the upstream failed.

The scope lives in a ``ContextVar``: ``asyncio.to_thread`` and copied contexts carry it into
worker threads, so concurrent requests never see each other's calls. A nested scope records
its own calls and hands them to the enclosing scope when it closes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, PrivateAttr

from lance.backends.base import ChatModel, Completion, GenerateParams, MessagesLike, Usage
from lance.backends.wrappers import DelegatingChatModel
from lance.errors import BackendError, BackendResponseError, LanceError

#: Who made a call: the target answering, the refiner rewriting, the refusal writer, a critique, a judge.
CallRole = Literal["target", "refiner", "refusal_writer", "critique", "judge"]

_EVENTS: ContextVar[list[CallEvent] | None] = ContextVar("lance_call_events", default=None)


class CallEvent(BaseModel):
    """One LLM call as it happened."""

    role: CallRole
    #: The backend's name, e.g. ``llamacpp/gemma-3-270m-q4_k_m``.
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str | None = None
    #: ``"<ErrorType>: message"`` when the call failed; ``None`` on success.
    error: str | None = None
    _exc: BackendError | None = PrivateAttr(default=None)

    @property
    def usage(self) -> Usage:
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    @property
    def exception(self) -> BackendError | None:
        """The backend error of a failed call (kept for the proxy's status mapping, not serialised)."""
        return self._exc


@contextmanager
def record_calls() -> Iterator[list[CallEvent]]:
    """Collect the LLM calls made inside the block (by this request only), in order."""
    outer = _EVENTS.get()
    events: list[CallEvent] = []
    token = _EVENTS.set(events)
    try:
        yield events
    finally:
        _EVENTS.reset(token)
        if outer is not None:
            outer.extend(events)


def total_usage(events: Iterable[CallEvent]) -> Usage:
    total = Usage()
    for e in events:
        total = total + e.usage
    return total


def final_failure(events: list[CallEvent]) -> BackendError | None:
    """The error of the last call when it failed: the answer then did not come from the upstream."""
    return events[-1].exception if events and events[-1].error else None


def _emit(event: CallEvent) -> None:
    events = _EVENTS.get()
    if events is not None:
        events.append(event)


class RecordedChatModel(DelegatingChatModel):
    """A chat model whose every call is recorded as a ``CallEvent`` with ``role``; otherwise transparent.

    Every failure of the wrapped model is a backend failure in LANCE's error tree, so the
    pipeline's failure handling and the proxy's status mapping see all of them: a body that is
    not even JSON (a ``ValueError`` from the client library) is raised as ``BackendResponseError``,
    any other unexpected exception (a ``TypeError`` on a malformed body, a ``RuntimeError`` from
    llama.cpp) as ``BackendError``, chained to the original.
    """

    def __init__(self, inner: ChatModel, role: CallRole) -> None:
        super().__init__(inner)
        self.role: CallRole = role

    def generate(self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        start = time.perf_counter()
        try:
            out = self.inner.generate(messages, params, **overrides)
        except Exception as exc:
            raise self._failed(exc, start) from exc
        self._done(out)
        return out

    async def agenerate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        start = time.perf_counter()
        try:
            out = await self.inner.agenerate(messages, params, **overrides)
        except Exception as exc:
            raise self._failed(exc, start) from exc
        self._done(out)
        return out

    def _done(self, out: Completion) -> None:
        _emit(CallEvent(role=self.role, model=self.name, prompt_tokens=out.usage.prompt_tokens,
                        completion_tokens=out.usage.completion_tokens, latency_s=round(out.latency_s, 4),
                        finish_reason=out.finish_reason))

    def _failed(self, exc: Exception, start: float) -> Exception:
        err: Exception = exc
        if isinstance(exc, ValueError) and not isinstance(exc, LanceError):
            err = BackendResponseError(f"{self.name} returned an unparsable body ({type(exc).__name__}: {exc})")
        elif not isinstance(exc, LanceError):
            err = BackendError(f"{self.name} failed unexpectedly ({type(exc).__name__}: {exc})")
        event = CallEvent(role=self.role, model=self.name, latency_s=round(time.perf_counter() - start, 4),
                          error=f"{type(err).__name__}: {err}")
        if isinstance(err, BackendError):
            event._exc = err
        _emit(event)
        return err

    def close(self) -> None:  # the wrapped model belongs to whoever created it
        pass


def with_role(model: ChatModel, role: CallRole) -> RecordedChatModel:
    """``model`` recorded under ``role`` (an already recorded model is re-wrapped around its inner one)."""
    inner = model.inner if isinstance(model, RecordedChatModel) else model
    return RecordedChatModel(inner, role)
