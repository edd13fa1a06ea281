"""A batched judge pass gives the verdicts one-by-one judging gives (real shipped judges)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lance.config import LanceSettings
from lance.eval.judging import EvalJudges

RUN = Path(__file__).resolve().parents[2] / "docs" / "results" / "full" / "results.jsonl"


def _pairs(n: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for _, line in zip(range(400), RUN.open(encoding="utf-8"))]
    picked = rows[::40][:n]  # several methods and routes, refusals among them
    return [(r["prompt"], r["response"]) for r in picked]


def test_judge_many_equals_judging_each_answer() -> None:
    judges = EvalJudges.load(LanceSettings())
    pairs = _pairs(10)
    batched = judges.judge_many(pairs)
    single = [judges.judge(p, r) for p, r in pairs]
    assert len(batched) == len(pairs)
    for b, s in zip(batched, single):
        assert b["refusal"]["label"] == s["refusal"]["label"]
        assert b["safety"]["label"] == s["safety"]["label"]
        assert b["refusal"]["rigidity"] == pytest.approx(s["refusal"]["rigidity"], abs=1e-3)
        assert b["safety"]["score"] == pytest.approx(s["safety"]["score"], abs=1e-3)
    assert any(b["refusal"]["label"] != "full_compliance" for b in batched)
