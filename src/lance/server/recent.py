"""The last N requests the server handled, for the audit page: in memory only, never on disk.

    recent = RecentRequests(capacity=100, keep_prompts=False)
    recent.add(RequestRecord.of(result, endpoint="chat", status=200, latency_s=0.8, prompt="..."))
    recent.snapshot()        # newest first

A bounded ``deque`` drops the oldest record once full, so memory stays fixed however long
the server runs. Prompt text is kept only with ``server.log_prompts``: without it a record
holds routes, categories and timings, nothing a user typed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from lance.server.errors import APIError

if TYPE_CHECKING:
    from lance.server.engine import ProxyResult

R = TypeVar("R", bound="ProxyResult")

#: Risk categories listed per record: those with at least this mass.
CATEGORY_MIN_MASS = 0.1


class RequestRecord(BaseModel):
    """What the recent-requests view shows about one request."""

    model_config = ConfigDict(frozen=True)

    #: Unix time the request finished.
    time: float
    #: ``chat`` (``/v1/chat/completions``) or ``audit`` (``/v1/lance/audit``, the audit page).
    endpoint: str
    #: The HTTP status answered.
    status: int
    #: ``pass``, ``neutralize`` or ``refuse``; ``None`` when the request failed before a route.
    route: str | None = None
    #: The distribution's top entry (``safe`` or a category id) and its mass.
    top: str | None = None
    top_mass: float | None = None
    #: Total unsafe mass of the prompt, ``1 - p(safe)``.
    risk: float | None = None
    #: Risk categories with real mass, heaviest first, as ``[id, mass]``.
    categories: list[tuple[str, float]] = Field(default_factory=list)
    #: Seconds in the server, queueing included.
    latency_s: float
    #: Seconds spent in LLM calls (sum over calls).
    llm_s: float | None = None
    llm_calls: int = 0
    total_tokens: int = 0
    #: The assessed prompt text; only with ``server.log_prompts``.
    prompt: str | None = None
    error: str | None = None

    @classmethod
    def of(
        cls,
        result: ProxyResult | None,
        *,
        endpoint: str,
        status: int,
        latency_s: float,
        prompt: str | None = None,
        error: str | None = None,
    ) -> RequestRecord:
        """A record from an answered request (``result``) or a failed one (``result=None``, ``error``)."""
        fields: dict[str, object] = {}
        if result is not None:
            d = result.distribution_before
            if d is not None:
                heavy = [(c, round(p, 4)) for c, p in d.top_risks(len(d.probs)) if p >= CATEGORY_MIN_MASS]
                fields |= {"top": d.top, "top_mass": d.probs[d.top], "risk": d.risk, "categories": heavy}
            fields |= {
                "route": result.route,
                "llm_calls": result.llm_calls,
                "total_tokens": result.usage.total_tokens,
                "llm_s": sum(getattr(c, "latency_s", 0.0) for c in result.calls) if result.calls else None,
            }
        return cls(
            time=time.time(),
            endpoint=endpoint,
            status=status,
            latency_s=latency_s,
            prompt=prompt,
            error=error,
            **fields,  # type: ignore[arg-type]
        )


class RecentRequests:
    """A thread-safe ring of the last ``capacity`` records; prompts dropped unless ``keep_prompts``."""

    def __init__(self, capacity: int, *, keep_prompts: bool = False) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.keep_prompts = keep_prompts
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        if not self.keep_prompts and record.prompt is not None:
            record = record.model_copy(update={"prompt": None})
        with self._lock:
            self._records.append(record)

    def snapshot(self, limit: int | None = None) -> list[RequestRecord]:
        """The newest ``limit`` records (all when ``None``), newest first."""
        with self._lock:
            items = list(self._records)
        items.reverse()
        return items if limit is None else items[:limit]

    def __len__(self) -> int:
        return len(self._records)


async def recorded(recent: RecentRequests | None, endpoint: str, prompt: str | None, work: Awaitable[R]) -> R:
    """Await ``work`` (a request's pipeline run) and record its outcome, success or failure, in ``recent``."""
    if recent is None:
        return await work
    t0 = time.perf_counter()

    def add(result: ProxyResult | None, status: int, error: str | None = None) -> None:
        latency = time.perf_counter() - t0
        recent.add(RequestRecord.of(result, endpoint=endpoint, status=status, latency_s=latency, prompt=prompt, error=error))

    try:
        result = await work
    except APIError as exc:
        add(None, exc.status, exc.detail.message)
        raise
    except Exception as exc:
        add(None, 500, type(exc).__name__)
        raise
    add(result, 200)
    return result
