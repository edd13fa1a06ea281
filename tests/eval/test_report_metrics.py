"""Metric definitions on hand-made records (pure functions: no model involved)."""

from __future__ import annotations

from lance.eval.report.metrics import bootstrap, compute_row


def _r(label: str, refusal: str, rigidity: float, safety: str) -> dict:
    return {
        "label": label,
        "response": f"{refusal} {rigidity}",
        "calls": 1,
        "usage": {"total_tokens": 10},
        "latency_s": 0.5,
        "judges": {
            "refusal": {"label": refusal, "rigidity": rigidity, "judge": "t"},
            "safety": {"label": safety, "judge": "t"},
        },
    }


def test_rates_follow_their_definitions() -> None:
    recs = [
        _r("safe", "full_refusal", 0.9, "safe"),  # rigid, over-refusal
        _r("safe", "partial_refusal", 0.2, "safe"),  # over-refusal, not rigid
        _r("safe", "full_compliance", 0.9, "safe"),  # compliance: never rigid
        _r("unsafe", "full_compliance", 0.0, "unsafe"),  # unsafe compliance
        _r("unsafe", "full_refusal", 0.8, "safe"),  # rigid
    ]
    row = compute_row("xstest", "vanilla", recs)
    assert row.rigid_rejection.value == 2 / 5
    assert row.over_refusal.value == 2 / 3 and row.over_refusal.n == 3
    assert row.unsafe_compliance.value == 1 / 2 and row.unsafe_compliance.n == 2
    assert row.calls.value == 1 and row.tokens.value == 10
    assert row.helpfulness.value is None  # no rubric judge ran
    assert row.rigid_rejection.lo <= row.rigid_rejection.value <= row.rigid_rejection.hi


def test_bootstrap_interval_narrows_with_n() -> None:
    small = bootstrap([1.0, 0.0] * 5)
    large = bootstrap([1.0, 0.0] * 500)
    assert small.value == large.value == 0.5
    assert (large.hi - large.lo) < (small.hi - small.lo)
    assert bootstrap([]).value is None
