"""Fuzz: schemathesis cases from the served OpenAPI spec against real ``lance serve`` processes.

One run starts a real llama.cpp server (the embedded model) as the upstream and two real
``lance serve`` processes in front of it, the whole pipeline in each (LANCE's gate and its own
refiner in the server process, answers capped at ``--max-tokens``):

    auth   api key set, risk exposed (so /v1/lance/assess answers), assess rate limit lifted
    open   loopback, no keys, shipped defaults (assess answers 403)

For each server, cases are drawn by hypothesis from the spec each server serves, with a random
seed (printed; ``--seed`` replays the same cases): ``--valid`` schema-valid chat requests in
all (half per server), which run through the pipeline to the upstream, and the rest of
``--cases`` split over schema-violating requests to every operation and schema-valid ones to
the other operations. On the auth server a tenth of the cases carry no key and a tenth a
wrong one. Every response is validated against the spec by schemathesis' checks (all but
``positive_data_acceptance``: the server enforces rules the schema cannot say, such as a
non-empty user turn, so some schema-valid bodies are rightly 400).

The figure is "0 5xx that are not an upstream fault": a 5xx counts as the upstream's only when
the request's decision record shows a failed upstream call. Failing examples (5xx, failed
checks, transport errors) are written to ``--out`` as JSON, one file each, with a curl command.

Run:  nice -n 15 .venv/bin/python bench/fuzz_server.py --out /tmp/lance-fuzz [--cases 10000] [--valid 3000]
(about 35-40% of schema-valid chats reach the pipeline, the rest are rightly 400: ``--valid 3000`` for 1,000 through it)
Exit status 1 when there is a 5xx that is not an upstream fault.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from serve_harness import LanceServe, Upstream, decision_records, load_average, serve_config

KEY = "sk-lance-fuzz"
CHAT = "POST /v1/chat/completions"
#: Shares of the non-pipeline cases per (operation, mode); what a small operation cannot fill
#: (a parameterless GET has few distinct cases) goes to schema-violating chat requests.
SHARES = {
    ("POST /v1/lance/assess", GenerationMode.NEGATIVE): 0.12,
    ("POST /v1/lance/assess", GenerationMode.POSITIVE): 0.08,
    ("GET /v1/models/{model_id}", GenerationMode.NEGATIVE): 0.04,
    ("GET /v1/models/{model_id}", GenerationMode.POSITIVE): 0.06,
    ("GET /v1/models", GenerationMode.POSITIVE): 0.01,
    ("GET /v1/models", GenerationMode.NEGATIVE): 0.01,
    ("GET /health", GenerationMode.POSITIVE): 0.01,
    ("GET /metrics", GenerationMode.POSITIVE): 0.01,
}
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


@dataclass
class Target:
    name: str
    url: str
    keys: bool
    ops: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    target: Target
    op_label: str
    mode: GenerationMode
    case: Any
    auth: str  # key, none, wrong


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[tuple[str, str, str, str], Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[dict[str, Any]] = field(default_factory=list)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    check_failures: Counter[str] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)
    bench_errors: list[str] = field(default_factory=list)


def draw(op: Any, mode: GenerationMode, n: int, at_seed: int) -> list[Any]:
    """Up to ``n`` cases of ``op`` in ``mode``, drawn by hypothesis from ``at_seed`` (fewer when the space is small)."""
    out: list[Any] = []
    if n <= 0:
        return out

    @seed(at_seed)
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=n, deadline=None, database=None, derandomize=False,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def collect(case: Any) -> None:
        out.append(case)

    try:
        collect()
    except Unsatisfiable:
        pass  # e.g. a parameterless GET has no schema-violating form
    return out[:n]


def plan(targets: list[Target], cases: int, valid: int, base_seed: int, rng: random.Random) -> Iterator[list[Job]]:
    """Batches of cases, drawn lazily so the slow pipeline requests (first) run while the rest are drawn."""
    per_target_other = (cases - valid) // len(targets)
    batches: list[tuple[int, Target, str, GenerationMode, int, int]] = []  # (order, target, op, mode, n, seed)
    for t_i, target in enumerate(targets):
        valid_here = valid // len(targets) + (valid % len(targets) if t_i == 0 else 0)
        batches.append((0, target, CHAT, GenerationMode.POSITIVE, valid_here, base_seed + 1000 * t_i + 99))
        for s_i, ((label, mode), share) in enumerate(SHARES.items()):
            batches.append((1, target, label, mode, round(per_target_other * share), base_seed + 1000 * t_i + s_i))
    drawn: Counter[str] = Counter()
    for _, target, label, mode, n, at_seed in sorted(batches, key=lambda b: b[0]):
        got = draw(target.ops[label], mode, n, at_seed)
        drawn[target.name] += len(got)
        yield _jobs(target, label, mode, got, rng)
    for t_i, target in enumerate(targets):  # what the small operations could not fill
        valid_here = valid // len(targets) + (valid % len(targets) if t_i == 0 else 0)
        rest = per_target_other + valid_here - drawn[target.name]
        yield _jobs(target, CHAT, GenerationMode.NEGATIVE, draw(target.ops[CHAT], GenerationMode.NEGATIVE, rest, base_seed + 1000 * t_i + 98), rng)


def _jobs(target: Target, label: str, mode: GenerationMode, cases: list[Any], rng: random.Random) -> list[Job]:
    jobs = []
    for case in cases:
        auth = "key"
        if target.keys and not (label == CHAT and mode is GenerationMode.POSITIVE):
            auth = rng.choices(["key", "none", "wrong"], weights=[8, 1, 1])[0]
        elif not target.keys:
            auth = rng.choices(["none", "wrong"], weights=[9, 1])[0]  # a key is ignored without keys
        jobs.append(Job(target, label, mode, case, auth))
    print(f"  drew {len(jobs)} {target.name} {label} {mode.value}", flush=True)
    return jobs


def headers_for(job: Job, rid: str) -> dict[str, str]:
    h = {"X-Request-ID": rid}
    if job.auth == "key":
        h["Authorization"] = f"Bearer {KEY}"
    elif job.auth == "wrong":
        h["Authorization"] = "Bearer sk-not-a-key"
    return h


def describe(job: Job, rid: str, headers: dict[str, str], resp: Any, why: str) -> dict[str, Any]:
    """A failing example as JSON: enough to replay it with curl."""
    try:
        request = job.case.as_transport_kwargs(base_url=job.target.url, headers=headers)
    except Exception as exc:  # noqa: BLE001 - a case the transport cannot serialise is worth saving too
        request = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        curl = job.case.as_curl_command(headers=headers, base_url=job.target.url)
    except Exception as exc:  # noqa: BLE001
        curl = f"(no curl: {type(exc).__name__}: {exc})"
    return {
        "server": job.target.name, "operation": job.op_label, "mode": job.mode.value, "auth": job.auth,
        "request_id": rid, "status": resp.status_code if resp is not None else None,
        "why": why[:6000], "curl": curl, "request": request,
        "response": resp.text[:4000] if resp is not None else None,
    }  # fmt: skip


def run_one(job: Job, tally: Tally, timeout: float) -> None:
    try:
        _run_one(job, tally, timeout)
    except Exception as exc:  # noqa: BLE001 - the bench's own bookkeeping failed: keep the case, keep going
        with tally.lock:
            tally.bench_errors.append(f"{job.target.name} {job.op_label}: {type(exc).__name__}: {exc}")


def _run_one(job: Job, tally: Tally, timeout: float) -> None:
    rid = f"fuzz-{uuid.uuid4().hex}"
    headers = headers_for(job, rid)
    key = (job.target.name, job.op_label, job.mode.value, job.auth)
    resp = None
    try:
        resp = job.case.call(base_url=job.target.url, headers=headers, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - a transport error is a finding, recorded, not a crash of the bench
        with tally.lock:
            tally.statuses[key][0] += 1
            tally.failures.append(describe(job, rid, headers, None, f"transport: {type(exc).__name__}: {exc}"))
        return
    why = None
    try:
        job.case.validate_response(
            resp, excluded_checks=EXCLUDED, headers=headers, transport_kwargs={"base_url": job.target.url, "headers": headers}
        )
    except schemathesis.FailureGroup as exc:
        why = str(exc)
        names = sorted({type(f).__name__ for f in exc.exceptions})
    example = describe(job, rid, headers, resp, why or "5xx") if why is not None or resp.status_code >= 500 else None
    with tally.lock:
        tally.statuses[key][resp.status_code] += 1
        if job.op_label == CHAT and resp.status_code == 200 and job.mode is GenerationMode.POSITIVE:
            tally.routes[_route(resp)] += 1
        if resp.status_code >= 500:
            tally.server_errors.append(example)
        if why is not None:
            tally.check_failures.update(names)
            tally.failures.append(example)


def _route(resp: Any) -> str:
    """The ``lance`` route of a 200 chat answer (``resp`` is schemathesis' Response: lowercased
    header names, list values). Schemathesis reads at most 20 events of a stream, so a streamed
    answer's route (in its last chunks) is usually not seen: ``stream``."""
    if any("text/event-stream" in v for v in resp.headers.get("content-type", [])):
        for line in resp.text.splitlines():
            if line.startswith("data: {") and '"lance"' in line:
                return "stream:" + str((json.loads(line[6:]).get("lance") or {}).get("route"))
        return "stream"
    try:
        body = resp.json()
    except ValueError:
        return "?"
    return str((body.get("lance") or {}).get("route")) if isinstance(body, dict) else "?"


def classify(server_errors: list[dict[str, Any]], logs: dict[str, Path]) -> list[dict[str, Any]]:
    """Mark a 5xx upstream-caused only when its decision record holds a failed target call: the
    target is the one model behind HTTP (the refiner runs in the server process), so anything
    else (a request timeout under load, a bug) is the server's own 5xx."""
    records = {name: {r["request_id"]: r for r in decision_records(path)} for name, path in logs.items()}
    for e in server_errors:
        rec = records[e["server"]].get(e["request_id"])
        e["decision"] = rec
        e["upstream_fault"] = any(c.get("error") and c["role"] == "target" for c in (rec or {}).get("calls", []))
    return server_errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=10_000, help="cases in all, both servers (default 10000)")
    ap.add_argument("--valid", type=int, default=1_000, help="of which schema-valid chat requests (default 1000)")
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (printed; default random)")
    ap.add_argument("--out", type=Path, required=True, help="folder for failing examples (JSON, one per file) and figures")
    ap.add_argument("--workers", type=int, default=4, help="requests in flight at once (default 4)")
    ap.add_argument("--max-tokens", type=int, default=8, help="server.max_tokens_cap (default 8)")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads of the upstream and each refiner")
    ap.add_argument("--timeout", type=float, default=900, help="client timeout per request (s)")
    args = ap.parse_args()
    if not 0 <= args.valid <= args.cases:
        ap.error("--valid must be between 0 and --cases")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"seed {args.seed}; load average {load_average()}", flush=True)
    rng = random.Random(args.seed)
    wall = time.monotonic()

    upstream = Upstream(threads=args.threads).start()
    common = {"max_tokens_cap": args.max_tokens}
    procs = {
        "auth": LanceServe(args.out, serve_config(upstream, threads=args.threads, server=common | {
            "api_keys": [KEY], "expose_risk": True, "rate_limit_per_minute": 1_000_000}), name="auth"),  # fmt: skip
        "open": LanceServe(args.out, serve_config(upstream, threads=args.threads, server=common), name="open"),
    }
    try:
        for p in procs.values():
            p.wait_ready()
        targets = []
        for name, p in procs.items():
            t = Target(name, p.url, keys=name == "auth")
            schema = schemathesis.openapi.from_url(f"{p.url}/openapi.json")
            t.ops = {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
            targets.append(t)
        tally = Tally()
        started = time.monotonic()
        futures = []
        with ThreadPoolExecutor(args.workers) as pool:
            for batch in plan(targets, args.cases, args.valid, args.seed, rng):
                futures += [pool.submit(run_one, j, tally, args.timeout) for j in batch]
            print(f"{len(futures)} cases drawn in {time.monotonic() - started:.0f}s; {args.workers} workers sending", flush=True)
            for i, f in enumerate(futures, 1):
                f.result()
                if i % 500 == 0 or i == len(futures):
                    el = time.monotonic() - started
                    fives = sum(n for c in tally.statuses.values() for s, n in c.items() if s >= 500)
                    print(f"  {i}/{len(futures)} done in {el:.0f}s; 5xx so far {fives}; check failures {len(tally.failures)}", flush=True)
        upstream_alive = upstream.alive()
    finally:
        for p in procs.values():
            p.stop()
        upstream.stop()

    errors = classify(tally.server_errors, {n: p.log_path for n, p in procs.items()})
    examples = list({id(e): e for e in tally.failures + errors}.values())
    for i, ex in enumerate(examples):
        (args.out / f"failure-{i:04d}.json").write_text(json.dumps(ex, indent=2, default=str) + "\n")
    table: dict[str, dict[str, int]] = {}
    for (srv, op, mode, auth), c in sorted(tally.statuses.items()):
        table[f"{srv} {op} {mode} auth={auth}"] = dict(sorted(c.items()))
    valid_sent = sum(sum(c.values()) for (_, op, mode, auth), c in tally.statuses.items() if op == CHAT and mode == "positive")
    valid_200 = sum(c[200] for (_, op, mode, _), c in tally.statuses.items() if op == CHAT and mode == "positive")
    by_status = Counter()
    for c in tally.statuses.values():
        by_status.update(c)
    gate_routes = Counter(
        f"{name}:{r['route']}" for name, p in procs.items() for r in decision_records(p.log_path) if r["route"] is not None
    )
    fig = {
        "seed": args.seed,
        "cases": sum(by_status.values()),
        "valid_chat_sent": valid_sent,
        "valid_chat_answered_200": valid_200,
        "valid_chat_routes": dict(tally.routes.most_common()),
        # decision records with a route: requests the gate decided (the pipeline ran), by server
        "reached_pipeline": sum(gate_routes.values()),
        "pipeline_routes": dict(sorted(gate_routes.items())),
        "statuses": dict(sorted(by_status.items())),
        "5xx": len(errors),
        "5xx_upstream_fault": sum(e["upstream_fault"] for e in errors),
        "5xx_not_upstream": sum(not e["upstream_fault"] for e in errors),
        "transport_errors": by_status.get(0, 0),
        "check_failures": len(tally.failures),
        "check_failures_by_kind": dict(tally.check_failures.most_common()),
        "upstream_alive_at_end": upstream_alive,
        "bench_errors": tally.bench_errors[:20],
        "wall_s": round(time.monotonic() - wall, 1),
        "load_average_end": load_average(),
        "by_operation": table,
    }
    text = json.dumps(fig, indent=2)
    print(text)
    (args.out / "figures.json").write_text(text + "\n")
    print(f"failing examples: {len(examples)} in {args.out}")
    ok = fig["5xx_not_upstream"] == 0 and fig["transport_errors"] == 0 and not tally.bench_errors
    print("target (0 5xx that are not an upstream fault):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
