"""One structured decision record per chat request, written as one JSON line to ``lance.server.decisions``.

The record says which gate decided (``identity``), what it decided (route, reason, top
category, risk), how long each stage took, and how the request ended (status, error code),
under the request id the client got in ``X-Request-ID``. The prompt text is left out unless
``server.log_prompts`` is on: a decision log is shipped to log stores that see far more
people than the prompts' authors should.

    {"event": "lance.decision", "request_id": "9f2c...", "status": 200, "route": "neutralize", ...}
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from lance.server.identity import ServingIdentity
from lance.server.trace import RequestTrace

#: The logger every record goes to (one line per record, the JSON object as the message).
LOGGER = "lance.server.decisions"
log = logging.getLogger(LOGGER)


class CallSummary(BaseModel):
    """One LLM call of the request, without its text."""

    role: str
    model: str
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: ``"<ErrorType>: message"`` when the call failed.
    error: str | None = None


class DecisionRecord(BaseModel):
    """What was decided for one request, by which gate, in how long, with what outcome."""

    event: str = "lance.decision"
    version: int = 1
    request_id: str
    #: When the request arrived (UTC, ISO 8601).
    time: str
    method: str
    path: str
    status: int
    #: The OpenAI error ``code`` when the response was an error.
    error_code: str | None = None
    gate: str | None = None
    encoder: str | None = None
    refiner: str | None = None
    target: str | None = None
    #: ``pass``, ``neutralize`` or ``refuse``; ``None`` when the request never reached the gate.
    route: str | None = None
    reason: str | None = None
    #: The top class of the prompt's risk distribution (``safe`` or a category id) and its risk, 1 - p(safe).
    top: str | None = None
    risk: float | None = None
    refined: bool = False
    llm_calls: int = 0
    #: Seconds: ``total`` (request to response end) and each pipeline stage that ran, by name.
    timings: dict[str, float] = Field(default_factory=dict)
    calls: list[CallSummary] = Field(default_factory=list)
    #: Backend failures the pipeline absorbed into a natural refusal.
    errors: list[str] = Field(default_factory=list)
    #: The assessed text (last user turn) and the rewrite the target got: only with ``server.log_prompts``.
    prompt: str | None = None
    refined_prompt: str | None = None


def _seconds(value: float) -> float:
    return round(value, 4)


def decision_record(trace: RequestTrace, identity: ServingIdentity, *, log_prompts: bool = False) -> DecisionRecord:
    """The record of a finished request (``trace.finish()`` called)."""
    result = trace.result
    timings: dict[str, float] = {}
    if trace.duration_s is not None:
        timings["total"] = _seconds(trace.duration_s)
    fields: dict[str, Any] = {}
    if result is not None:
        dist = result.distribution_before
        timings |= {k: _seconds(v) for k, v in result.timings.items()}
        fields = {
            "route": result.route,
            "reason": result.reason or None,
            "top": dist.top if dist is not None else None,
            "risk": round(dist.risk, 4) if dist is not None else None,
            "refined": result.refined,
            "errors": [f"{e.role}: {e.error}" for e in result.errors],
        }
        if log_prompts and result.refined:
            fields["refined_prompt"] = result.refined_prompt
    return DecisionRecord(
        request_id=trace.request_id,
        time=datetime.fromtimestamp(trace.started_at, timezone.utc).isoformat(timespec="milliseconds"),
        method=trace.method,
        path=trace.path,
        status=trace.status or 500,
        error_code=trace.error_code,
        gate=identity.gate,
        encoder=identity.encoder,
        refiner=identity.refiner,
        target=identity.target,
        llm_calls=len(trace.events),
        timings=timings,
        calls=[
            CallSummary(role=e.role, model=e.model, latency_s=e.latency_s, prompt_tokens=e.prompt_tokens,
                        completion_tokens=e.completion_tokens, error=e.error)
            for e in trace.events
        ],
        prompt=trace.prompt if log_prompts else None,
        **fields,
    )


def write_decision(record: DecisionRecord) -> None:
    """One JSON line at INFO on ``lance.server.decisions`` (unset fields kept, so every line has every key)."""
    log.info(record.model_dump_json())


def log_decisions_to_stderr() -> None:
    """Send the records to stderr as bare JSON lines (``lance serve``; library users configure logging themselves).

    Process-wide, so only ``lance serve`` calls it. Idempotent.
    """
    import sys

    if any(getattr(h, "_lance_decisions", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._lance_decisions = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
