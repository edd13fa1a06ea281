"""OpenAI-style error objects and the mapping from LANCE's errors to HTTP.

Every failure the server answers has the body OpenAI clients already parse::

    {"error": {"message": "...", "type": "...", "param": "messages" | null, "code": "..." | null}}

    400 invalid_request_error   bad JSON, wrong types, empty or unknown-role messages, invalid
                                Unicode, ``tools``; a prompt longer than the model's context
    401 invalid_request_error   missing or wrong API key (code invalid_api_key)
    403 permission_error        /v1/lance/assess on a server without server.expose_risk
    404/405                     unknown path or method
    413 invalid_request_error   body larger than server.max_body_bytes
    429 rate_limit_error        every slot and queue place taken, a key's assess budget spent, or the upstream answered 429
    502 upstream_error          upstream unreachable or answered garbage
    504 upstream_error          upstream or pipeline slower than the timeout (the request's budget)
    500 server_error            a bug; details only in the log (and with debug on)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from lance.errors import (
    BackendError,
    BackendRateLimited,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ContextOverflow,
    InputError,
    LanceError,
    ModelFileError,
)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorDetail


class APIError(Exception):
    """An error answered to the client as ``status`` + an OpenAI error object."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(message=message, type=type, param=param, code=code)
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(ErrorBody(error=self.detail).model_dump(), status_code=self.status, headers=self.headers)


def error_response(
    status: int, message: str, type: str = "invalid_request_error", *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    return APIError(status, message, type, param=param, code=code).response()


def from_lance_error(exc: LanceError, *, debug: bool = False) -> APIError:
    """Map a pipeline failure onto the status a client can act on.

    Upstream details (internal URLs, model paths) are only shown with ``debug`` on.
    """
    detail = f": {exc}" if debug else ""
    if isinstance(exc, ContextOverflow):
        return APIError(
            400, f"the prompt is longer than the model's context window; shorten it{detail}",
            param="messages", code="context_length_exceeded",
        )
    if isinstance(exc, BackendRateLimited):
        headers = None if exc.retry_after is None else {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return APIError(
            429, f"the upstream model is rate limiting; retry later{detail}", "rate_limit_error",
            code="upstream_rate_limited", headers=headers,
        )
    if isinstance(exc, InputError):
        return APIError(400, str(exc), code="invalid_value")
    if isinstance(exc, BackendTimeout):
        return APIError(504, f"the upstream model did not answer in time{detail}", "upstream_error", code="upstream_timeout")
    if isinstance(exc, BackendUnavailable):
        return APIError(502, f"the upstream model is unreachable{detail}", "upstream_error", code="upstream_unavailable")
    if isinstance(exc, BackendResponseError):
        return APIError(
            502, f"the upstream model returned an unusable answer{detail}", "upstream_error", code="upstream_bad_response"
        )
    if isinstance(exc, BackendError):
        return APIError(502, f"the upstream model failed{detail}", "upstream_error", code="upstream_error")
    if isinstance(exc, ModelFileError):
        return APIError(503, f"the model is not available{detail}", "server_error", code="model_unavailable")
    return internal_error(exc, debug=debug)


def internal_error(exc: BaseException, *, debug: bool = False) -> APIError:
    """A bug: the client learns only that it happened, unless debug is on."""
    msg = f"internal error: {type(exc).__name__}: {exc}" if debug else "internal server error; see the server log"
    return APIError(500, msg, "server_error", code="internal_error")


_CODES = {
    "missing": "missing_required_parameter",
    "json_invalid": "invalid_json",
    "literal_error": "invalid_value",
    "enum": "invalid_value",
    "too_short": "invalid_value",
    "too_long": "invalid_value",
    "extra_forbidden": "unknown_parameter",
}


def _param(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body",)]
    # pydantic names union/function branches in the location; clients only need the field path.
    parts = [p for p in parts if not any(c in p for c in "[(") and not p.startswith("function-")]
    return ".".join(parts) or None


def from_validation_errors(errors: Sequence[dict[str, Any]]) -> APIError:
    """One clear line from FastAPI/pydantic validation errors (the first one, plus a count)."""
    if not errors:
        return APIError(400, "invalid request body", code="invalid_request")
    first = errors[0]
    kind = str(first.get("type", ""))
    param = _param(first.get("loc", ()))
    if kind == "json_invalid":
        return APIError(400, "the request body is not valid JSON", code="invalid_json")
    if kind == "model_attributes_type" or (kind == "missing" and param is None):
        return APIError(400, "the request body must be a JSON object", code="invalid_request")
    msg = str(first.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    where = f"'{param}': " if param else ""
    return APIError(400, f"invalid request: {where}{msg}{more}", param=param, code=_CODES.get(kind, "invalid_type"))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": desc}
    for code, desc in {
        400: "Invalid request (bad JSON, wrong types, empty or unknown-role messages, invalid Unicode, tools, "
        "a prompt longer than the model's context)",
        401: "Missing or invalid API key",
        403: "Risk assessment not exposed by this server (server.expose_risk)",
        404: "Unknown path or model",
        413: "Request body too large",
        429: "Server busy (every slot and queue place taken), a key's assessments per minute spent, or the upstream rate limiting (its Retry-After passed on)",
        500: "Internal error",
        501: "Not available on this server (e.g. no assessor)",
        502: "Upstream model unreachable or unusable",
        503: "A model file could not be loaded",
        504: "Upstream model or pipeline timed out",
    }.items()
}
