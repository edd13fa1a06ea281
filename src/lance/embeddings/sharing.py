"""Sharing one CPU encoder: within a request (reuse) and across requests (a gate).

Within a request the same text is often encoded more than once: the assessor embeds
the prompt, then the refusal post-check embeds the prompt again next to the answer.
Inside ``reuse_embeddings()`` each distinct text is encoded once per encoder and the
vector is reused; the scope lives in a ``ContextVar``, so concurrent requests (threads
started with ``asyncio.to_thread`` or a copied context) never share vectors.

Across requests, ``set_encode_slots(n)`` bounds how many encodes run at once in the
process. A server answering many requests on a few cores would otherwise start one
forward pass per request at the same time and take every core from the model it sits
in front of; with a gate the encodes queue (each takes milliseconds) and the rest of
the CPU stays with the upstream.

A reused vector can differ from a fresh one in the last float bits (a text encoded
alone vs padded in a batch: about 1e-7), the same order as changing torch's thread count.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

from lance.errors import ConfigError

F = TypeVar("F", bound=Callable[..., np.ndarray])

#: (encoder key, text) -> vector, for the request in progress; ``None`` outside a scope.
_SCOPE: ContextVar[dict[tuple[str, str], np.ndarray] | None] = ContextVar("lance_embedding_scope", default=None)
_GATE: threading.BoundedSemaphore | None = None


@contextmanager
def reuse_embeddings() -> Iterator[None]:
    """Within the block, each text is encoded at most once per encoder (nested scopes share the outer one)."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def set_encode_slots(slots: int | None) -> None:
    """Allow at most ``slots`` encodes at once in this process (``None``: no limit)."""
    global _GATE
    if slots is not None and slots < 1:
        raise ConfigError(f"encode slots must be at least 1, got {slots}")
    _GATE = threading.BoundedSemaphore(slots) if slots else None


def encode_slots() -> int | None:
    """The current limit set by ``set_encode_slots``."""
    return None if _GATE is None else _GATE._initial_value  # type: ignore[attr-defined]


def shared(encode: F) -> F:
    """Decorator for an encoder's ``encode(self, texts)``: reuse within a scope, wait for the gate."""

    @functools.wraps(encode)
    def wrapper(self: Any, texts: Sequence[str]) -> np.ndarray:
        memo = _SCOPE.get()
        if memo is None or isinstance(texts, str):
            return _gated(encode, self, texts)
        key = str(getattr(self, "cache_key", None) or getattr(self, "name", id(self)))
        items = ["" if t is None else str(t) for t in texts]
        missing = list(dict.fromkeys(t for t in items if (key, t) not in memo))
        if missing:
            fresh = _gated(encode, self, missing)
            for t, vec in zip(missing, fresh):
                vec = np.array(vec, dtype=np.float32)  # a copy: callers may modify what they get
                vec.flags.writeable = False
                memo[(key, t)] = vec
        if not items:
            return _gated(encode, self, texts)
        return np.stack([memo[(key, t)] for t in items]).astype(np.float32, copy=True)

    return wrapper  # type: ignore[return-value]


def _gated(encode: Callable[..., np.ndarray], self: Any, texts: Sequence[str]) -> np.ndarray:
    gate = _GATE
    if gate is None:
        return encode(self, texts)
    with gate:
        return encode(self, texts)
