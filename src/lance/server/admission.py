"""Bounded admission: ``max_concurrency`` requests run, ``max_queue`` wait, the rest get 429.

Refusing early keeps latency bounded under overload instead of letting an
unbounded backlog build up in front of a slow model; clients retry on 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lance.server.errors import APIError


class Admission:
    """A semaphore with a bounded waiting room. Single event loop; no locking needed."""

    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self._sem = asyncio.Semaphore(max_concurrency)
        self.running = 0
        self.waiting = 0

    async def acquire(self) -> None:
        """Take a slot, waiting in the queue if needed; 429 ``APIError`` when the queue is full too."""
        if self.running + self.waiting >= self.max_concurrency + self.max_queue:
            raise APIError(
                429,
                f"the server is busy ({self.running} requests running, {self.waiting} waiting); retry shortly",
                "rate_limit_error",
                code="server_busy",
                headers={"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self._sem.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block (see ``acquire``)."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()
