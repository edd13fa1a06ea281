"""What the server puts behind its endpoints: a small ``Responder`` protocol.

The HTTP layer knows nothing about routing or refinement; it calls
``respond(messages, params)`` and gets a ``ProxyResult``. ``LanceResponder``
adapts the ``Lance`` pipeline; ``PassthroughResponder`` forwards straight to a
chat model (no assessment), which the proxy benchmark uses to separate the
HTTP layer's overhead from the pipeline's.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from lance.assess.distribution import Assessor, RiskDistribution
from lance.backends import ChatModel, GenerateParams, Message, Usage, get_chat_model, params_from_config
from lance.config import LanceSettings
from lance.errors import (
    AssessmentUnavailable,
    BackendError,
    BackendRateLimited,
    BackendResponseError,
    BackendUnavailable,
    ContextOverflow,
)
from lance.backends.events import CallEvent, record_calls
from lance.server.trace import note_result

if TYPE_CHECKING:
    from lance.lance import Lance

T = TypeVar("T")


@dataclass(frozen=True)
class ProxyResult:
    """One answered request, in the terms the HTTP layer needs."""

    text: str
    route: str = "pass"
    #: Why the route was taken, in words (``LanceResult.reason``).
    reason: str = ""
    distribution_before: RiskDistribution | None = None
    #: Set only when the prompt was refined.
    distribution_after: RiskDistribution | None = None
    refined_prompt: str | None = None
    gradients: Sequence[Any] = ()
    trajectory: Any = None
    usage: Usage = field(default_factory=Usage)
    llm_calls: int = 0
    #: The request's LLM calls as events (``lance.backends.events.CallEvent``).
    calls: Sequence[Any] = ()
    finish_reason: str = "stop"
    #: Wall seconds per pipeline stage that ran (``LanceResult.timings``).
    timings: Mapping[str, float] = field(default_factory=dict)
    #: The pipeline's full ``LanceResult`` (``LanceResponder`` only), for the operator's audit page.
    result: Any = None
    #: Backend failures the answer absorbed (a refiner outage ending in a natural refusal): failed call events.
    errors: Sequence[CallEvent] = ()

    @property
    def refined(self) -> bool:
        return self.refined_prompt is not None


@runtime_checkable
class Responder(Protocol):
    """Anything the server can put behind ``/v1/chat/completions`` and ``/v1/lance/assess``."""

    #: Model id reported to clients.
    name: str

    def base_params(self) -> GenerateParams:
        """The target's default sampling parameters, which request fields override."""
        ...

    async def respond(self, messages: list[Message], params: GenerateParams) -> ProxyResult: ...

    async def assess(self, texts: Sequence[str]) -> list[RiskDistribution]: ...


def fatal_failure(events: Sequence[CallEvent]) -> BackendError | None:
    """The failed call the client must hear about as an error status, if any.

    The pipeline absorbs every backend failure into a safe answer; the server does not hide
    them behind a 200. A failed target call means the answer did not come from the model
    (502/504); a prompt too long for the model is the client's (400), an upstream's 429 is
    passed on (429); a timeout means the request ran out of time (504), and an unexpected
    exception is a failure (502). Only a refiner-side outage (the refiner, refusal writer or
    critique unreachable or answering garbage) may end in the natural refusal the pipeline
    wrote, and the response says so (``ProxyResult.errors``).
    """
    for e in events:
        exc = e.exception
        if exc is None:
            continue
        absorbable = isinstance(exc, (BackendUnavailable, BackendResponseError)) and not isinstance(
            exc, (BackendRateLimited, ContextOverflow)
        )
        if e.role == "target" or not absorbable:
            return exc
    return None


class LanceResponder:
    """The ``Lance`` pipeline behind the server.

    Every LLM call of a request is an event (``lance.backends.events``); ``fatal_failure``
    decides from them whether the request is answered with an error status instead of the
    pipeline's fallback answer. A failed call that is not fatal is listed in the result's ``errors``.
    """

    def __init__(self, lance: Lance, name: str | None = None, *, workers: int = 4) -> None:
        self.lance = lance
        self.name = name or "lance"
        # Its own threads, one per admitted request: the loop's default executor has only
        # cpu_count + 4 workers, which would quietly queue admitted requests behind each other.
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lance-pipeline")

    def base_params(self) -> GenerateParams:
        return params_from_config(self.lance.settings.backend)

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in this responder's threads with the caller's context (``record_calls`` needs it)."""
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(ctx.run, fn, *args))

    async def respond(self, messages: list[Message], params: GenerateParams) -> ProxyResult:
        with record_calls() as events:
            result = await self._in_pool(self.lance.respond, messages, params)
        failed = [e for e in events if e.error is not None]
        refined = result.route == "neutralize" and result.refined_prompt is not None
        proxy = ProxyResult(
            text=result.response,
            route=result.route,
            reason=result.reason,
            distribution_before=result.distribution_before,
            distribution_after=result.distribution_after if refined else None,
            refined_prompt=result.refined_prompt if refined else None,
            gradients=result.gradients,
            trajectory=result.trajectory,
            usage=result.usage,
            llm_calls=result.llm_calls,
            calls=result.calls,
            timings=result.timings,
            result=result,
            errors=failed,
        )
        note_result(proxy)  # the decision log records the gate's decision even when the answer fails
        failure = fatal_failure(failed)
        if failure is not None:
            raise failure
        return proxy

    async def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        def run() -> list[RiskDistribution]:
            assessor = getattr(self.lance.pipeline, "assessor", None)
            if isinstance(assessor, Assessor):
                return assessor.assess(list(texts))
            return [self.lance.assess(t) for t in texts]

        return await self._in_pool(run)

    def close(self) -> None:
        """Stop the worker threads (after the running requests end)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class PassthroughResponder:
    """Forward every request to one chat model: no assessment, no refinement."""

    def __init__(self, model: ChatModel, assessor: Assessor | None = None, name: str | None = None) -> None:
        self.model = model
        self.assessor = assessor
        self.name = name or model.name

    def base_params(self) -> GenerateParams:
        return self.model.default_params

    async def respond(self, messages: list[Message], params: GenerateParams) -> ProxyResult:
        out = await self.model.agenerate(messages, params)
        return ProxyResult(
            text=out.text, usage=out.usage, llm_calls=1, finish_reason=out.finish_reason or "stop"
        )

    async def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        if self.assessor is None:
            raise AssessmentUnavailable("this server runs without an assessor")
        assessor = self.assessor
        return await asyncio.to_thread(lambda: assessor.assess(list(texts)))


def model_id(settings: LanceSettings) -> str:
    """``lance/<target>``: what clients see as the model name."""
    b = settings.backend
    if b.kind == "openai":
        return f"lance/{b.model}"
    return f"lance/{b.model_path.stem if b.model_path else 'gemma-3-270m'}"


def build_lance(
    settings: LanceSettings, *, refine_slots: int | None = None, refine_defer_s: float = 0.0
) -> tuple[Lance, list[ChatModel]]:
    """A ``Lance`` on the configured target and refiner (the pipeline records their calls, so upstream
    failures become 502/504).

    With ``refine_slots``, at most that many refiner calls are in flight at once, and with
    ``refine_defer_s`` each first waits (that long at most) for target calls to drain (``slots.py``).
    Returns the chat models it created too: the caller closes them when done.
    """
    from lance.lance import Lance
    from lance.backends.slots import SlotLimitedChatModel, TargetTracker, TrackedChatModel

    from lance.refine.own_model import refiner_model

    upstream = get_chat_model(settings.backend)
    target: ChatModel = upstream
    refiner = refiner_model(settings)
    models: list[ChatModel] = [upstream, refiner]
    if refine_slots is not None or refine_defer_s > 0:
        tracker = TargetTracker()
        target = TrackedChatModel(upstream, tracker)
        refiner = SlotLimitedChatModel(refiner, refine_slots or 1_000_000, yield_to=tracker, max_defer=refine_defer_s)
    return Lance(settings, target=target, refiner=refiner), models


def as_responder(obj: Any, name: str | None = None, *, workers: int = 4) -> Responder:
    """Accept a ``Responder`` as is, or adapt a ``Lance`` (with ``workers`` pipeline threads)."""
    from lance.lance import Lance

    if isinstance(obj, Lance):
        return LanceResponder(obj, name or model_id(obj.settings), workers=workers)
    if isinstance(obj, Responder):
        return obj
    raise TypeError(f"create_app needs a Lance or a Responder, got {type(obj).__name__}")
