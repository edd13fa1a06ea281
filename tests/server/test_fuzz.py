"""Property-based fuzzing from the served OpenAPI spec (schemathesis + hypothesis).

Every operation is fuzzed in both modes against the real proxy:

* negative (schema-violating) requests must get a 4xx, never a 5xx;
* positive requests must not 5xx, and every response must match the spec
  (documented status, content type, body schema).

``positive_data_acceptance`` is left out on purpose: the server also enforces
rules the JSON schema cannot express (a non-empty user turn), so some
schema-valid bodies are rightly 400s. Cost stays bounded: at most 50 examples
per operation and mode, answers capped at ``MAX_TOKENS``, and random text
rarely forms a request that reaches the model at all.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from server_helpers import KEY, ThreadServer

EXAMPLES = {"POST /v1/chat/completions": 50, "POST /v1/lance/assess": 30}


@pytest.fixture(scope="module")
def schema(lance_http: ThreadServer) -> Any:
    return schemathesis.openapi.from_url(f"{lance_http.url}/openapi.json")


def test_spec_describes_every_endpoint(schema: Any) -> None:
    labels = {r.ok().label for r in schema.get_all_operations()}
    assert labels == {
        "POST /v1/chat/completions",
        "GET /v1/models",
        "GET /v1/models/{model_id}",
        "POST /v1/lance/assess",
        "GET /health",
    }


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE], ids=lambda m: m.value)
def test_fuzz_every_operation(schema: Any, lance_http: ThreadServer, mode: GenerationMode) -> None:
    statuses: dict[str, dict[int, int]] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        seen: dict[int, int] = {}

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES.get(op.label, 15),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            resp = case.call_and_validate(
                base_url=lance_http.url,
                headers={"Authorization": f"Bearer {KEY}"},
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )
            assert resp.status_code < 500, resp.text
            seen[resp.status_code] = seen.get(resp.status_code, 0) + 1

        try:
            check()
        except Unsatisfiable:
            # e.g. no schema-violating request exists for a parameterless GET
            assert mode is GenerationMode.NEGATIVE
        statuses[op.label] = seen
    if mode is GenerationMode.NEGATIVE:
        assert sum(statuses["POST /v1/chat/completions"].values()) >= 20
        assert all(400 <= code < 500 for code in statuses["POST /v1/chat/completions"])
