"""Watching the upstream model's calls per request.

The pipeline turns backend failures into a safe refusal (never the unrefined
prompt), which is right for a library but would hide an outage from a proxy's
clients. ``ObservedChatModel`` wraps a backend and records, for the request in
progress, whether each call succeeded. The record lives in a ``ContextVar``:
``asyncio.to_thread`` copies the context into the worker thread, so concurrent
requests never see each other's calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lance.backends.base import ChatModel, Completion, GenerateParams, MessagesLike
from lance.errors import BackendError, BackendResponseError, LanceError

#: Outcomes of the current request's upstream calls, in order: ``None`` = success.
_CALLS: ContextVar[list[BackendError | None] | None] = ContextVar("lance_upstream_calls", default=None)


@contextmanager
def watch_calls() -> Iterator[list[BackendError | None]]:
    """Record the upstream calls made inside the block (by this request only)."""
    record: list[BackendError | None] = []
    token = _CALLS.set(record)
    try:
        yield record
    finally:
        _CALLS.reset(token)


def _note(outcome: BackendError | None) -> None:
    record = _CALLS.get()
    if record is not None:
        record.append(outcome)


def final_failure(record: list[BackendError | None]) -> BackendError | None:
    """The error of the last call when it failed: the answer then did not come from the upstream."""
    return record[-1] if record else None


class DelegatingChatModel(ChatModel):
    """A chat model wrapping another: same name, defaults and backend-specific attributes.

    Subclasses override ``generate``/``agenerate`` to add what they watch or limit.
    """

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, item: str) -> Any:
        # Backend-specific attributes (prompt_format, n_ctx, model_path, ...) stay visible.
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)

    def _generate(self, messages: Any, params: GenerateParams) -> Completion:
        return self.generate(messages, params)


class ObservedChatModel(DelegatingChatModel):
    """A chat model that reports each call's outcome to ``watch_calls``; otherwise transparent."""

    def generate(self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any) -> Completion:
        try:
            out = self.inner.generate(messages, params, **overrides)
        except Exception as exc:
            err = self._failed(exc)
            if err is exc:
                raise
            raise err from exc
        _note(None)
        return out

    async def agenerate(
        self, messages: MessagesLike, params: GenerateParams | None = None, **overrides: Any
    ) -> Completion:
        try:
            out = await self.inner.agenerate(messages, params, **overrides)
        except Exception as exc:
            err = self._failed(exc)
            if err is exc:
                raise
            raise err from exc
        _note(None)
        return out

    def _failed(self, exc: Exception) -> Exception:
        """Record a backend failure; a body that is not even JSON (``ValueError``) counts as one."""
        if isinstance(exc, BackendError):
            _note(exc)
            return exc
        if isinstance(exc, ValueError) and not isinstance(exc, LanceError):
            err = BackendResponseError(f"{self.name} returned an unparsable body ({type(exc).__name__}: {exc})")
            _note(err)
            return err
        return exc

    def close(self) -> None:
        self.inner.close()
