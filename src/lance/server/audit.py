"""The operator's audit page at ``/ui`` and the two JSON endpoints it reads.

    GET  /ui  (+ /ui/audit.js, /ui/audit.css)   plain files shipped in the package: no data in them
    POST /v1/lance/audit                         the chat-completions body -> the full ``LanceResult``
    GET  /v1/lance/recent?limit=N                the last requests (``RecentRequests``), newest first

The page itself is public (it holds nothing but code); the JSON endpoints sit behind the API
keys like every ``/v1`` path, so with keys set only a key holder sees any data: the page asks
for the key when they answer 401 and sends it as a Bearer token. The ``expose_*`` settings
govern what API clients receive in the ``lance`` field; the audit endpoint is the operator's
view and returns everything. Both endpoints are left out of the OpenAPI spec, which describes
the client API.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import model_validator

from lance.backends import GenerateParams, Message
from lance.config.server import ServerConfig
from lance.server.engine import LanceResponder, ProxyResult, Responder
from lance.server.errors import APIError
from lance.server.recent import RecentRequests, recorded
from lance.server.schemas import ChatCompletionRequest

#: The page's files: URL path -> (file in ``lance/server/ui``, media type).
UI_FILES = {
    "/ui": ("index.html", "text/html; charset=utf-8"),
    "/ui/audit.js": ("audit.js", "text/javascript; charset=utf-8"),
    "/ui/audit.css": ("audit.css", "text/css; charset=utf-8"),
}
#: Paths the key check lets through: the page's own files (no data) and the slash redirect.
UI_PUBLIC_PATHS = frozenset([*UI_FILES, "/ui/"])
#: Only the page's own files, no inline code, no other origin: a prompt rendered on it cannot run.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class AuditRequest(ChatCompletionRequest):
    """``POST /v1/lance/audit``: the body of ``/v1/chat/completions`` (without streaming)."""

    @model_validator(mode="after")
    def _no_stream(self) -> AuditRequest:
        if self.stream:
            raise ValueError("the audit endpoint does not stream; leave stream unset")
        return self


def last_user_text(messages: list[Message]) -> str | None:
    """The last user turn: the text the gate assesses, and what a record may keep."""
    return next((m.content for m in reversed(messages) if m.role == "user"), None)


def _categories(responder: Responder) -> list[dict[str, str]]:
    """The taxonomy the pipeline routes with, for labels, colours and directives."""
    if isinstance(responder, LanceResponder):
        taxonomy = responder.lance.pipeline.taxonomy
    else:
        from lance.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
    return [{"id": c.id, "name": c.name, "directive": c.directive} for c in taxonomy]


def install_audit(
    app: FastAPI,
    *,
    config: ServerConfig,
    responder: Responder,
    run: Callable[[Callable[[], Awaitable[ProxyResult]]], Awaitable[ProxyResult]],
    params_for: Callable[[ChatCompletionRequest], GenerateParams],
    recent: RecentRequests,
    model_name: str,
) -> None:
    """Add the page and its endpoints to ``app`` (``run`` admits and times out like the chat endpoint)."""
    taxonomy: list[dict[str, str]] = []

    def categories() -> list[dict[str, str]]:
        if not taxonomy:  # on first use: the pipeline (and its taxonomy) loads lazily
            taxonomy.extend(_categories(responder))
        return taxonomy

    ui_dir = files("lance.server").joinpath("ui")
    bodies = {path: (ui_dir.joinpath(name).read_bytes(), media) for path, (name, media) in UI_FILES.items()}

    def page(path: str) -> Callable[[], Awaitable[Response]]:
        body, media = bodies[path]

        async def serve() -> Response:
            return Response(body, media_type=media, headers=_HEADERS)

        return serve

    for path in UI_FILES:
        app.add_api_route(path, page(path), methods=["GET"], include_in_schema=False)

    @app.get("/ui/", include_in_schema=False)
    async def ui_slash() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=307)

    @app.post("/v1/lance/audit", include_in_schema=False)
    async def audit(req: AuditRequest) -> dict[str, Any]:
        if not isinstance(responder, LanceResponder):
            raise APIError(
                501, "the audit needs the LANCE pipeline; this server runs without it", "server_error",
                code="not_available",
            )
        messages = req.to_messages()
        params = params_for(req)
        started = time.perf_counter()
        result = await recorded(
            recent, "audit", last_user_text(messages), run(lambda: responder.respond(messages, params))
        )
        return {
            "object": "lance.audit",
            "model": model_name,
            "latency_s": time.perf_counter() - started,
            "categories": categories(),
            "result": result.result.model_dump(mode="json"),
        }

    @app.get("/v1/lance/recent", include_in_schema=False)
    async def recent_requests(limit: int = Query(default=50, ge=1, le=10_000)) -> dict[str, Any]:
        return {
            "object": "list",
            "capacity": recent.capacity,
            "log_prompts": recent.keep_prompts,
            "categories": categories(),
            "data": [r.model_dump(mode="json") for r in recent.snapshot(limit)],
        }
