"""ASGI middleware around everything else: a request id on every response, a trace for every request.

It is the outermost of the app's own middleware, so 401s and 413s from the guard carry the
``X-Request-ID`` header and are observed too; a 500 from an unhandled bug is sent by
Starlette's error middleware outside it, whose handler reads the id from ``scope["state"]``
(``app.py``). When the response is done, ``observer(trace, endpoint)`` records it (metrics,
decision log); a failing observer is logged and never changes the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import Match

from lance.backends.events import record_calls
from lance.server.guard import ASGIApp, Message, Receive, Scope, Send
from lance.server.request_id import HEADER, request_id
from lance.server.trace import RequestTrace, tracing

log = logging.getLogger("lance.server")

Observer = Callable[[RequestTrace, str], None]
#: The endpoint label of a path no route serves (keeps label values bounded).
UNMATCHED = "other"


def endpoint_of(scope: MutableMapping[str, Any]) -> str:
    """The route template serving ``scope`` (``/v1/models/{model_id:path}``), also for requests refused
    before routing (the guard's 401); ``other`` for paths no route serves."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    partial = None
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(candidate.path)
        if match is Match.PARTIAL and partial is None:  # the path exists, the method does not (405)
            partial = str(candidate.path)
    return partial or UNMATCHED


def trace_of(scope: MutableMapping[str, Any]) -> RequestTrace | None:
    """The trace this middleware put on the request (for handlers that run outside it)."""
    trace = scope.get("state", {}).get("lance_trace")
    return trace if isinstance(trace, RequestTrace) else None


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", ())).get(HEADER.lower().encode())
        trace = RequestTrace(request_id=request_id(sent), method=scope.get("method", ""), path=scope.get("path", ""))
        scope.setdefault("state", {})["lance_trace"] = trace

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                trace.status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = trace.request_id
            await send(message)

        with record_calls() as events, tracing(trace):
            trace.events = events
            try:
                await self.app(scope, receive, send_with_id)
            except BaseException:
                if trace.status is None:  # Starlette's error middleware answers it, after this
                    trace.status, trace.error_code = 500, "internal_error"
                raise
            finally:
                trace.finish()
                try:
                    self.observer(trace, endpoint_of(scope))
                except Exception:  # noqa: BLE001 - observing must never break serving
                    log.exception("recording request %s failed", trace.request_id)
