"""The FastAPI application: OpenAI's chat-completions API with LANCE in front of the model.

    app = create_app(Lance(), ServerConfig(api_keys=("sk-local",)))
    uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lance import __version__
from lance.assess.distribution import RiskDistribution
from lance.backends import GenerateParams
from lance.backends.events import record_calls
from lance.backends.deadline import until
from lance.errors import AssessmentUnavailable, LanceError
from lance.server.admission import Admission
from lance.server.audit import UI_PUBLIC_PATHS, install_audit, last_user_text
from lance.config.server import ServerConfig
from lance.server.engine import ProxyResult, Responder, as_responder
from lance.server.errors import (
    ERROR_RESPONSES,
    APIError,
    error_response,
    from_lance_error,
    from_validation_errors,
    internal_error,
)
from lance.server.decision_log import decision_record, write_decision
from lance.server.guard import PUBLIC_PATHS, GuardMiddleware
from lance.server.identity import serving_identity
from lance.server.metrics import ServerMetrics
from lance.server.observe import ObserveMiddleware, trace_of
from lance.server.recent import RecentRequests, recorded
from lance.server.request_id import HEADER as REQUEST_ID_HEADER
from lance.server.ratelimit import RateLimit
from lance.server.schemas import (
    AssessItem,
    AssessRequest,
    AssessResponse,
    ChatCompletion,
    ChatCompletionRequest,
    Health,
    ModelCard,
    ModelList,
)
from lance.server.stream import chunk_events
from lance.server.trace import RequestTrace, current_trace, note_error, note_result

log = logging.getLogger("lance.server")
T = TypeVar("T")
#: The endpoint whose requests get a decision record.
CHAT_PATH = "/v1/chat/completions"

_ERRORS = ERROR_RESPONSES
#: One server-sent event (the schema applies per event, as in OpenAPI 3.2's ``itemSchema``).
_SSE_SCHEMA = {
    "type": "object",
    "description": "With stream=true: server-sent events; the chunk with finish_reason carries `lance`.",
    "properties": {
        "data": {"type": "string", "description": "A chat.completion.chunk as JSON, or [DONE] at the end."}
    },
    "required": ["data"],
}


def _distribution(d: RiskDistribution | None) -> dict[str, Any] | None:
    # The text is left out on purpose: the "after" text is the (possibly hidden) refined prompt.
    if d is None:
        return None
    return {"distribution": dict(d.probs), "confidence": d.confidence, "top": d.top, "risk": d.risk}


def _dump(items: Any) -> Any:
    if hasattr(items, "model_dump"):
        return items.model_dump(mode="json")
    if isinstance(items, (list, tuple)):
        return [_dump(i) for i in items]
    return items


#: What a route reason may carry that a client must not see when risk is hidden: probabilities and
#: thresholds (decimals, percentages), and from a backend error's text, URLs and file paths.
_HIDDEN = re.compile(r"\w+://\S+|(?<![\w)])/[\w.~-]+(?:/[\w.~-]+)+|\d*\.\d+%?|\d+%")


def public_reason(reason: str) -> str:
    """The route's reason with probabilities, URLs and paths masked, for servers that keep risk to themselves."""
    return _HIDDEN.sub("…", reason)


def lance_meta(result: ProxyResult, config: ServerConfig) -> dict[str, Any]:
    """The ``lance`` field: route and reason always; distributions only with ``expose_risk``;
    refined prompt, gradients, trajectory only when configured."""
    meta: dict[str, Any] = {
        "route": result.route,
        "reason": result.reason if config.show_risk else public_reason(result.reason),
        "refined": result.refined,
        "llm_calls": result.llm_calls,
    }
    if config.show_risk:
        meta["distribution"] = {
            "before": _distribution(result.distribution_before),
            "after": _distribution(result.distribution_after) if result.refined else None,
        }
    if config.show_refined_prompt and result.refined:
        meta["refined_prompt"] = result.refined_prompt
    if config.show_gradients and result.gradients:
        meta["gradients"] = _dump(list(result.gradients))
    if config.debug and result.trajectory is not None:
        meta["trajectory"] = _dump(result.trajectory)
    if config.debug and result.calls:
        meta["calls"] = _dump(list(result.calls))
    if result.errors:
        # the error's type always (the answer is a fallback, and says so); its message, which may
        # name internal hosts, only with debug
        meta["errors"] = [
            {"role": e.role, "error": (e.error or "").split(":", 1)[0], "message": e.error if config.debug else None}
            for e in result.errors
        ]
    return meta


def request_params(req: ChatCompletionRequest, base: GenerateParams, config: ServerConfig) -> GenerateParams:
    """The target's defaults overridden by the request's temperature, top_p, max_tokens, stop, seed."""
    update: dict[str, Any] = {}
    if req.temperature is not None:
        update["temperature"] = req.temperature
    if req.top_p is not None:
        update["top_p"] = max(req.top_p, 1e-6)
    limit = req.token_limit()
    if limit is not None:
        update["max_tokens"] = limit
    if config.max_tokens_cap is not None:
        update["max_tokens"] = min(update.get("max_tokens", base.max_tokens), config.max_tokens_cap)
    stops = req.stop_list()
    if stops:
        update["stop"] = tuple(stops)
    if req.seed is not None:
        # llama.cpp takes a 32-bit seed; folding keeps a given seed reproducible.
        update["seed"] = req.seed % (2**31)
    return base.model_copy(update=update)


def create_app(lance: Any, config: ServerConfig | None = None) -> FastAPI:
    """Build the server around a ``Lance`` (or any ``Responder``)."""
    config = config or ServerConfig()
    responder: Responder = as_responder(lance, config.model_name, workers=config.max_concurrency)
    model_name = config.model_name or responder.name
    started = int(time.time())

    app = FastAPI(
        title="LANCE",
        version=__version__,
        summary="OpenAI-compatible chat completions with label-enhanced refinement in front of the model.",
    )
    app.state.responder = responder
    app.state.config = config
    app.state.admission = Admission(config.max_concurrency, config.max_queue)
    identity = serving_identity(responder)
    metrics = ServerMetrics(app.state.admission, info={"version": __version__, **identity.labels()}) if config.metrics else None
    app.state.metrics = metrics

    def observe(trace: RequestTrace, endpoint: str) -> None:
        """A response is done: count it, and write the decision record of a chat request."""
        if metrics is not None:
            metrics.observe_response(trace, endpoint)
        if endpoint == CHAT_PATH:
            write_decision(decision_record(trace, identity, log_prompts=config.log_prompts))

    #: The audit page's recent-requests view (in memory); ``None`` with the page off.
    recent = RecentRequests(config.recent_requests, keep_prompts=config.log_prompts) if config.ui else None
    app.state.recent = recent
    #: ``upstream_errors``: answered with an upstream error status; ``degraded``: a fallback answer (``/health``).
    app.state.outcomes = Counter()
    assess_limit = RateLimit(config.rate_limit_per_minute)
    app.add_middleware(
        GuardMiddleware,  # type: ignore[arg-type]
        api_keys=config.key_values(),
        max_body_bytes=config.max_body_bytes,
        public_paths=(PUBLIC_PATHS | UI_PUBLIC_PATHS) if config.ui else PUBLIC_PATHS,
    )
    # added last, so it runs first: the guard's 401/413 get a request id and are counted too
    app.add_middleware(ObserveMiddleware, observer=observe)  # type: ignore[arg-type]
    _install_error_handlers(app, config)
    _openapi_without_422(app)

    async def run(work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` in an admission slot within ``request_timeout``; map failures to API errors.

        ``request_timeout`` is one budget for the whole request, queueing included: the work runs
        under its deadline (``lance.backends.deadline``), so every LLM call, retry and wait in it
        ends by then. At the deadline the client gets 504 and the work, out of budget, stops at
        its next check (the next token, attempt or stage) and gives its slot back. The slot is
        released when the work really ends, because until then it occupies a worker thread.
        """
        admission: Admission = app.state.admission
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.request_timeout
        timeout = APIError(
            504, f"the request took longer than {config.request_timeout:g}s", "upstream_error", code="timeout"
        )
        try:
            async with asyncio.timeout_at(deadline):
                await admission.acquire()
        except TimeoutError:
            app.state.outcomes["upstream_errors"] += 1
            raise timeout from None

        async def observed() -> T:
            # every call of this run, also those made after a 504 was sent, counted once when it ends
            with record_calls() as events:
                try:
                    return await work()
                finally:
                    if metrics is not None:
                        trace = current_trace()
                        result = trace.result if trace is not None else None
                        metrics.observe_work(events, result.timings if result is not None else None)

        # the task copies this context, and the pipeline's threads copy the task's
        with until(time.monotonic() + (deadline - loop.time())):
            task = asyncio.ensure_future(observed())

        def done(t: asyncio.Future[T]) -> None:
            admission.release()
            if not t.cancelled():
                t.exception()  # retrieved here so an abandoned task's error is not reported twice

        task.add_done_callback(done)
        try:
            async with asyncio.timeout_at(deadline):
                return await asyncio.shield(task)
        except TimeoutError:
            app.state.outcomes["upstream_errors"] += 1
            raise timeout from None
        except LanceError as exc:
            err = from_lance_error(exc, debug=config.debug)
            log.warning("request failed (%s): %s", err.status, exc)
            if err.status >= 500 or err.detail.code in ("upstream_rate_limited", "context_length_exceeded"):
                app.state.outcomes["upstream_errors"] += 1
            raise err from None

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={**_ERRORS, 200: {"content": {"text/event-stream": {"schema": _SSE_SCHEMA}}}},
        summary="Create a chat completion (OpenAI-compatible; stream=true for server-sent events)",
    )
    async def chat_completions(req: ChatCompletionRequest) -> Any:
        params = request_params(req, responder.base_params(), config)
        messages = req.to_messages()
        trace = current_trace()
        if trace is not None and config.log_prompts:
            trace.prompt = next((m.content for m in reversed(messages) if m.role == "user" and m.content.strip()), None)
        result: ProxyResult = await recorded(
            recent, "chat", last_user_text(messages), run(lambda: responder.respond(messages, params))
        )
        note_result(result)
        if result.errors:
            app.state.outcomes["degraded"] += 1
            log.warning("answered with a fallback after failed calls: %s", "; ".join(e.error or "" for e in result.errors))
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        usage = {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "total_tokens": result.usage.total_tokens,
        }
        meta = lance_meta(result, config)
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            events = chunk_events(
                completion_id=completion_id,
                created=created,
                model=model_name,
                text=result.text,
                finish_reason=result.finish_reason,
                lance=meta,
                usage=usage,
                include_usage=include_usage,
            )
            return StreamingResponse(
                events,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        body = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model_name,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": result.finish_reason,
                }
            ],
            "usage": usage,
            "lance": meta,
        }
        return JSONResponse(body)

    @app.get("/v1/models", response_model=ModelList, responses=_ERRORS, summary="List the served model")
    async def list_models() -> ModelList:
        return ModelList(data=[ModelCard(id=model_name, created=started)])

    @app.get("/v1/models/{model_id:path}", response_model=ModelCard, responses=_ERRORS, summary="Describe the served model")
    async def get_model(model_id: str) -> ModelCard:
        if model_id != model_name:
            raise APIError(404, f"model {model_id!r} not found; this server serves {model_name!r}", code="model_not_found")
        return ModelCard(id=model_name, created=started)

    @app.post("/v1/lance/assess", response_model=AssessResponse, responses=_ERRORS, summary="Risk distribution of texts")
    async def assess(req: AssessRequest, request: Request) -> AssessResponse:
        if not config.show_risk:
            raise APIError(
                403,
                "risk assessment is not exposed by this server (the operator can enable it with server.expose_risk)",
                "permission_error",
                code="risk_not_exposed",
            )
        texts = req.texts()
        assess_limit.take(request, len(texts))
        try:
            dists: list[RiskDistribution] = await run(lambda: responder.assess(texts))
        except AssessmentUnavailable as exc:
            raise APIError(501, str(exc), "server_error", code="not_available") from None
        return AssessResponse(
            data=[
                AssessItem(
                    index=i,
                    text=texts[i],
                    distribution=dict(d.probs),
                    confidence=d.confidence,
                    top=d.top,
                    risk=d.risk,
                    truncated=d.truncated,
                )
                for i, d in enumerate(dists)
            ]
        )

    @app.get("/health", response_model=Health, summary="Liveness, and how busy the server is")
    async def health() -> Health:
        admission: Admission = app.state.admission
        outcomes: Counter[str] = app.state.outcomes
        return Health(
            model=model_name, in_flight=admission.running, queued=admission.waiting,
            upstream_errors=outcomes["upstream_errors"], degraded=outcomes["degraded"],
        )

    if metrics is not None:

        @app.get(
            "/metrics",
            response_class=Response,
            responses={**_ERRORS, 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
            summary="Prometheus metrics (text exposition format)",
        )
        async def prometheus_metrics(request: Request) -> Response:
            body, content_type = metrics.render(request.headers.get("accept"))
            return Response(body, headers={"Content-Type": content_type})

    if recent is not None:
        install_audit(
            app,
            config=config,
            responder=responder,
            run=run,
            params_for=lambda req: request_params(req, responder.base_params(), config),
            recent=recent,
            model_name=model_name,
        )
    return app


def _openapi_without_422(app: FastAPI) -> None:
    """Validation errors are answered with 400 (as OpenAI does), so the spec must not promise 422."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = original()
            for path in spec.get("paths", {}).values():
                for op in path.values():
                    op.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI, config: ServerConfig) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        note_error(exc.detail.code)
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = from_validation_errors(list(exc.errors()))
        note_error(err.detail.code)
        return err.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        note_error(code)
        resp = error_response(exc.status_code, str(exc.detail), code=code)
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error while serving a request")
        resp = internal_error(exc, debug=config.debug).response()
        trace = trace_of(request.scope)  # this handler runs outside the observing middleware
        if trace is not None:
            resp.headers[REQUEST_ID_HEADER] = trace.request_id
        return resp
