"""Server settings: the ``server`` section of LANCE's settings, validated here.

    server:
      host: 127.0.0.1
      port: 8080
      api_keys: [sk-team-a, sk-team-b]   # or LANCE_API_KEYS=sk-a,sk-b
      max_concurrency: 4                 # requests running the pipeline at once
      max_queue: 32                      # requests waiting; beyond that: 429
      torch_threads: 1                   # CPU threads per assessment encode
      encode_slots: 1                    # assessment encodes running at once
      refine_slots: 1                    # refiner calls in flight at the upstream (null: no limit)
      refine_defer_s: 10                 # a refiner call waits this long at most while target calls are pending
      metrics: true                      # Prometheus text format at /metrics
      log_prompts: false                 # the decision log line carries the prompt text only when true
      ui: true                           # the operator's audit page at /ui (behind the keys when keys are set)
      allow_unauthenticated: false       # a non-loopback host without api_keys refuses to start unless true
      expose_risk: false                 # risk distributions in responses and /v1/lance/assess (opt-in)
      rate_limit_per_minute: 60          # texts a key may assess per minute at /v1/lance/assess (null: no limit)
      max_tokens_cap: 1024               # upper bound on a request's max_tokens (null: no cap)

Secrets never appear in ``repr`` so a logged config does not leak them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from lance.errors import ConfigError

API_KEYS_ENV = "LANCE_API_KEYS"


class ServerConfig(BaseModel):
    """How ``lance serve`` listens, admits and answers requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Accepted ``Authorization: Bearer`` keys; empty means no authentication.
    api_keys: tuple[SecretStr, ...] = ()
    #: Largest accepted request body; bigger bodies get 413.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: Requests running through the pipeline at the same time.
    max_concurrency: int = Field(default=4, ge=1)
    #: Requests allowed to wait for a slot; one more is refused with 429.
    max_queue: int = Field(default=32, ge=0)
    #: Seconds one request may take end to end before it is answered with 504.
    request_timeout: float = Field(default=300.0, gt=0)
    #: Upper bound on a request's ``max_tokens``; larger asks are cut to it (``None`` = no cap).
    #: On by default so one request cannot hold the upstream for thousands of tokens.
    max_tokens_cap: int | None = Field(default=1024, ge=1)
    #: Model id shown in ``/v1/models`` and in responses; ``None`` = ``lance/<target backend name>``.
    model_name: str | None = None
    #: Put the refined prompt into the ``lance`` field of responses.
    expose_refined_prompt: bool = False
    #: Put the textual gradients into the ``lance`` field of responses.
    expose_gradients: bool = False
    #: Debug: expose refined prompt, gradients and the trajectory, and error details.
    debug: bool = False
    #: Seconds uvicorn waits for in-flight requests on shutdown.
    graceful_timeout: float = Field(default=30.0, gt=0)
    #: Torch threads per encode (the assessor's CPU encoder); ``None`` = torch's default (all cores).
    #: One thread per encode, many requests in parallel, leaves the cores to the model (docs/server.md).
    torch_threads: int | None = Field(default=1, ge=1)
    #: Encodes running at once in the server process; ``None`` = no limit.
    encode_slots: int | None = Field(default=1, ge=1)
    #: Refiner (rewrite and natural-refusal) calls in flight at the upstream; ``None`` = no limit.
    #: Keeps risky prompts' rewrites from queueing benign requests behind them (backends/slots.py).
    refine_slots: int | None = Field(default=1, ge=1)
    #: Seconds a refiner call waits while target calls are queued or running (0: no waiting).
    #: Benign requests go first; risky ones wait at most this long per call (backends/slots.py).
    refine_defer_s: float = Field(default=10.0, ge=0.0)
    #: Serve Prometheus metrics at ``/metrics`` (same API-key rule as the other endpoints).
    metrics: bool = True
    #: Serve the operator's audit page at ``/ui`` and its JSON endpoints (``/v1/lance/audit``,
    #: ``/v1/lance/recent``); with API keys set, only a key holder gets any data from them.
    ui: bool = True
    #: Requests the audit page's "recent requests" view keeps, in memory only (never on disk).
    recent_requests: int = Field(default=100, ge=1, le=10_000)
    #: Put prompt text into the decision log line and the recent-requests view; off, prompts are never kept.
    log_prompts: bool = False
    #: Serve a non-loopback host with no ``api_keys`` anyway. Off: ``lance serve`` refuses to start
    #: (``check_exposure``), since anyone who reaches the port could use the model and probe the gate.
    allow_unauthenticated: bool = False
    #: Send risk distributions to clients: in the chat ``lance`` field and from ``/v1/lance/assess``.
    #: Off by default: per-category probabilities are an oracle for tuning prompts that evade the gate,
    #: so the field keeps route and a number-free reason, and ``/v1/lance/assess`` answers 403.
    expose_risk: bool = False
    #: Texts one key (one client address when no keys are set) may assess per minute at
    #: ``/v1/lance/assess``; more get 429 with ``Retry-After``. ``None`` = no limit. Chat requests
    #: are not counted: each costs a model call and admission already bounds them.
    rate_limit_per_minute: int | None = Field(default=60, ge=1)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.split(",")
        if isinstance(v, (list, tuple)):
            keys = (k.get_secret_value() if isinstance(k, SecretStr) else str(k) for k in v)
            return tuple(k.strip() for k in keys if k.strip())
        return v

    @property
    def show_refined_prompt(self) -> bool:
        return self.expose_refined_prompt or self.debug

    @property
    def show_gradients(self) -> bool:
        return self.expose_gradients or self.debug

    @property
    def show_risk(self) -> bool:
        return self.expose_risk or self.debug

    def key_values(self) -> tuple[str, ...]:
        return tuple(k.get_secret_value() for k in self.api_keys)


def is_loopback(host: str) -> bool:
    """True only for hosts that provably accept local connections alone (``localhost``, 127/8, ``::1``).

    Any other name might resolve to a public interface, so it counts as exposed.
    """
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(config: ServerConfig) -> None:
    """Refuse (``ConfigError``) to serve a non-loopback host without API keys unless explicitly allowed."""
    if config.api_keys or config.allow_unauthenticated or is_loopback(config.host):
        return
    raise ConfigError(
        f"refusing to serve on {config.host} without an API key: anyone who can reach the port could use the "
        "model and probe the gate. Set a key (--api-key, server.api_keys or LANCE_API_KEYS), listen on "
        "127.0.0.1, or pass --allow-unauthenticated (server.allow_unauthenticated: true) to serve openly on purpose"
    )


def server_config(
    section: ServerConfig | Mapping[str, Any] | None = None, *, extra_keys: Sequence[str] = (), **overrides: Any
) -> ServerConfig:
    """``settings.server`` with ``LANCE_API_KEYS`` and ``extra_keys`` added and non-``None`` overrides applied."""
    data: dict[str, Any] = section.model_dump() if isinstance(section, ServerConfig) else dict(section or {})
    keys = data.get("api_keys") or []
    keys = keys.split(",") if isinstance(keys, str) else [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
    keys += os.environ.get(API_KEYS_ENV, "").split(",") + list(extra_keys)
    data["api_keys"] = keys
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ConfigError(f"invalid setting server.{loc}: {first['msg']}") from None
