"""ASGI middleware that runs before any parsing: API keys, then the body-size limit.

It sits in front of FastAPI so that an unauthenticated client learns nothing
but 401 (not even whether its JSON parses), and an oversized body is refused
without being parsed. The body is buffered (it is at most ``max_body_bytes``)
and replayed to the application.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from lance.server.errors import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths open without a key: liveness probes and the API description.
PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: After refusing an oversized body, read at most this many times the limit before hanging up.
_DRAIN_FACTOR = 16


class GuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: tuple[str, ...],
        max_body_bytes: int,
        public_paths: frozenset[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.public = public_paths
        self.keys = tuple(k.encode("utf-8") for k in api_keys)
        self.max_body = max_body_bytes

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                token = token.strip()
                if scheme.lower() != b"bearer" or not token:
                    return False
                # compare against every key (constant time each) so timing does not reveal which matched
                return any([hmac.compare_digest(token, k) for k in self.keys])
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.keys and scope["path"] not in self.public and not self._authorized(scope):
            resp = error_response(
                401,
                "missing or invalid API key: send 'Authorization: Bearer <key>'",
                param=None,
                code="invalid_api_key",
            )
            resp.headers["WWW-Authenticate"] = "Bearer"
            await resp(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "invalid Content-Length header", code="invalid_request")(scope, receive, send)
                return
            if int(declared) > self.max_body:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await self._too_large(scope, receive, send, drained=size)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, drained: int = 0) -> None:
        # Read (and drop) the rest of a moderately oversized body so the client sees the 413
        # instead of a reset connection; give up on absurd ones.
        more = True
        while more and drained <= self.max_body * _DRAIN_FACTOR:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)
        resp = error_response(
            413, f"request body too large: the limit is {self.max_body} bytes", code="request_too_large"
        )
        await resp(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
