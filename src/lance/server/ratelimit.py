"""Per-key rate limit on risk assessments (``/v1/lance/assess``), with ``Retry-After``.

The assess endpoint answers in milliseconds with the gate's full distribution, so without a
limit it is a fast oracle for tuning prompts until they slip past the gate. Each key (each
client address when the server has no keys) may assess ``per_minute`` texts in any moving
60-second window; a batch counts one per text. The ``limits`` library keeps the windows.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from lance.server.errors import APIError


def client_id(request: Request) -> str:
    """Who is asking: a digest of the bearer key (the key itself is not kept), else the client address."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode("utf-8")).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "unknown")


class RateLimit:
    """``per_minute`` units per client in a moving one-minute window; ``None`` never limits."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute) if per_minute else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if per_minute else None

    def take(self, request: Request, cost: int = 1, *, what: str = "texts") -> None:
        """Spend ``cost`` units of the caller's budget, or raise: 429 with ``Retry-After`` when it is
        spent for now, 400 when ``cost`` alone exceeds the whole budget (waiting would never help)."""
        if self._item is None or self._limiter is None or self.per_minute is None:
            return
        if cost > self.per_minute:
            raise APIError(
                400,
                f"{cost} {what} in one request is more than this server's limit of {self.per_minute} per minute; "
                f"send at most {self.per_minute}",
                param="input",
                code="over_rate_limit",
            )
        who = client_id(request)
        if self._limiter.hit(self._item, who, cost=cost):
            return
        stats = self._limiter.get_window_stats(self._item, who)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise APIError(
            429,
            f"rate limit reached: at most {self.per_minute} {what} per minute for each key; "
            f"{stats.remaining} left now, retry in {retry}s",
            "rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(retry)},
        )
