"""Property-based fuzzing from the served OpenAPI spec (schemathesis + hypothesis).

* negative (schema-violating) requests, every operation, against the real
  LANCE proxy: always a 4xx, never a 5xx;
* positive (schema-valid) requests: never a 5xx, and every response matches
  the spec (documented status, content type, body and SSE event schemas).

Cost is bounded. Schema-valid chat requests with random text would each run
the whole pipeline (several refiner calls), so the positive chat fuzz runs
against the same server code with a ``PassthroughResponder`` over the real
embedded model, answers capped at 8 tokens: the HTTP layer, schemas and
streaming are identical, only the pipeline is left out. Everything else hits
the LANCE proxy. At most 50 examples per operation and mode.

``positive_data_acceptance`` is excluded: the server enforces rules the JSON
schema cannot express (e.g. content for a system turn), so a few schema-valid
bodies are rightly 400s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from server_helpers import KEY, RecordingChatModel, ThreadServer

from lance.server.app import create_app
from lance.config.server import ServerConfig
from lance.server.engine import PassthroughResponder

CHAT = "POST /v1/chat/completions"
EXAMPLES = {(CHAT, GenerationMode.NEGATIVE): 50, (CHAT, GenerationMode.POSITIVE): 25}


@pytest.fixture(scope="module")
def fast_http(recorder: RecordingChatModel, lance_pipeline: Any) -> Iterator[ThreadServer]:
    """Same server code, no pipeline: one capped call to the real embedded model per request."""
    responder = PassthroughResponder(recorder, assessor=lance_pipeline.pipeline.assessor)
    with ThreadServer(create_app(responder, ServerConfig(api_keys=(KEY,), max_tokens_cap=8))) as server:
        yield server


def fuzz(url: str, ops: list[Any], mode: GenerationMode) -> dict[str, dict[int, int]]:
    """Run every operation in ``mode``; returns the statuses seen per operation."""
    statuses: dict[str, dict[int, int]] = {}
    for op in ops:
        seen: dict[int, int] = {}

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES.get((op.label, mode), 25),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            resp = case.call_and_validate(
                base_url=url,
                headers={"Authorization": f"Bearer {KEY}"},
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )
            assert resp.status_code < 500, resp.text
            seen[resp.status_code] = seen.get(resp.status_code, 0) + 1

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # e.g. a parameterless GET has no invalid form
        statuses[op.label] = seen
    print(f"\n{mode.value} @ {url}: {statuses}")  # visible with -s
    return statuses


def operations(url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [r.ok() for r in schema.get_all_operations()]


def test_spec_describes_every_endpoint(lance_http: ThreadServer) -> None:
    assert {op.label for op in operations(lance_http.url)} == {
        CHAT,
        "GET /v1/models",
        "GET /v1/models/{model_id}",
        "POST /v1/lance/assess",
        "GET /health",
        "GET /metrics",
    }


def test_invalid_requests_never_5xx(lance_http: ThreadServer) -> None:
    statuses = fuzz(lance_http.url, operations(lance_http.url), GenerationMode.NEGATIVE)
    assert sum(statuses[CHAT].values()) >= 30
    assert all(400 <= code < 500 for per_op in statuses.values() for code in per_op)


def test_valid_requests_never_5xx_and_match_the_spec(lance_http: ThreadServer, fast_http: ThreadServer) -> None:
    ops = operations(lance_http.url)
    fuzz(lance_http.url, [op for op in ops if op.label != CHAT], GenerationMode.POSITIVE)
    chat = fuzz(fast_http.url, [op for op in operations(fast_http.url) if op.label == CHAT], GenerationMode.POSITIVE)
    assert chat[CHAT].get(200, 0) >= 5  # schema-valid requests really were answered, streamed ones included
