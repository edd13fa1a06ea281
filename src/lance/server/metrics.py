"""Prometheus metrics for ``lance serve``: what was decided, how long each stage took, what failed.

Every app gets its own ``CollectorRegistry`` (not prometheus-client's global one), so several
apps in one process (the tests, an embedding application) count apart. Two moments feed it:

* when a response is done (``observe_response``): requests by endpoint, route, top category
  and status, and the request's wall time;
* when a pipeline run ends (``observe_work``), which after a 504 can be later than the
  response: seconds per stage, LLM calls by role, upstream errors by role and error type.

In flight and queued are read from the admission at scrape time. Names and labels are
listed in docs/server.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder

from lance.server.admission import Admission
from lance.server.trace import RequestTrace

if TYPE_CHECKING:
    from lance.backends.events import CallEvent

#: Upper bounds in seconds: a gate encode takes milliseconds, a CPU model call up to minutes.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, float("inf"))
#: Which LLM roles count toward which stage (``CallEvent.role``).
STAGE_OF_ROLE = {"target": "target", "refiner": "refine", "critique": "refine", "refusal_writer": "refusal"}
#: Label value when a request never reached the gate (401, 400, 429, ...) or on other endpoints.
NONE = "none"


class ServerMetrics:
    """The metric families of one app, in their own registry."""

    def __init__(self, admission: Admission, *, info: Mapping[str, str] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "lance_requests",
            "HTTP requests answered, by endpoint, route (pass/neutralize/refuse; none before the gate), "
            "top category of the prompt's risk distribution and HTTP status.",
            ["endpoint", "route", "category", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "lance_request_duration_seconds",
            "Wall seconds from request to the end of the response, by endpoint and route.",
            ["endpoint", "route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "lance_stage_duration_seconds",
            "Seconds one request spent in a stage: assess (the gate), refine (refiner and critique calls), "
            "refusal (natural-refusal writer calls), target (target calls); observed when the stage ran.",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.calls = Counter("lance_llm_calls", "LLM calls made, by role.", ["role"], registry=r)
        self.upstream_errors = Counter(
            "lance_upstream_errors",
            "Failed LLM calls, by role and error type (BackendUnavailable, BackendTimeout, ...).",
            ["role", "error"],
            registry=r,
        )
        in_flight = Gauge("lance_requests_in_flight", "Requests holding an admission slot.", registry=r)
        in_flight.set_function(lambda: admission.running)
        queued = Gauge("lance_requests_queued", "Requests waiting for an admission slot.", registry=r)
        queued.set_function(lambda: admission.waiting)
        if info:
            Info("lance_build", "What this server runs: version, gate, refiner, target.", registry=r).info(dict(info))

    def observe_response(self, trace: RequestTrace, endpoint: str) -> None:
        """Count a finished response (its route and category when the gate decided)."""
        result = trace.result
        route = result.route if result is not None else NONE
        dist = result.distribution_before if result is not None else None
        category = dist.top if dist is not None else NONE
        status = str(trace.status or 500)
        self.requests.labels(endpoint, route, category, status).inc()
        if trace.duration_s is not None:
            self.duration.labels(endpoint, route).observe(trace.duration_s)

    def observe_work(self, events: Sequence[CallEvent], timings: Mapping[str, float] | None) -> None:
        """Record a finished pipeline run: its stages' seconds, its calls and its failed calls."""
        stages: dict[str, float] = {}
        if timings and "assess" in timings:
            stages["assess"] = timings["assess"]
        for e in events:
            self.calls.labels(e.role).inc()
            if e.error:
                self.upstream_errors.labels(e.role, e.error.split(":", 1)[0]).inc()
            stage = STAGE_OF_ROLE.get(e.role)
            if stage is not None:
                stages[stage] = stages.get(stage, 0.0) + e.latency_s
        for stage, seconds in stages.items():
            self.stage.labels(stage).observe(seconds)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry and its content type, in the format ``accept`` asks for (prometheus-client's
        negotiation: Prometheus text 0.0.4 by default, OpenMetrics when asked)."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
