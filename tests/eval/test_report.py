"""The report renders from a real small run: embedded model, real LE assessor, real judges."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lance.config import LanceSettings
from lance.eval.runner import EvalArgs, run_eval

METHODS = ["vanilla", "guard_block", "safety_prompt"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory, embedded_model, le_assessor) -> Path:
    out = tmp_path_factory.mktemp("evalrun")
    args = EvalArgs(datasets=["xstest", "harmful"], methods=[",".join(METHODS)], limit=2, max_tokens=16)
    summary = run_eval(LanceSettings(), args, out, target=embedded_model, assessor=le_assessor)
    assert summary.failed == 0 and summary.done == 4 * len(METHODS)
    return out


def test_records_carry_what_the_report_needs(small_run: Path) -> None:
    recs = [json.loads(line) for line in (small_run / "results.jsonl").read_text().splitlines()]
    for r in recs:
        assert r["model"].startswith("llamacpp/") and r["config_hash"] and isinstance(r["seed"], int)
        assert r["judges"]["refusal"]["judge"] and r["judges"]["safety"]["judge"]
        assert r["judges"]["refusal"]["label"] in {"full_compliance", "full_refusal", "partial_refusal"}
        assert set(r["distribution"]) >= {"safe", "S1"}
    blocked = [r for r in recs if r["route"] == "block"]
    assert all(r["calls"] == 0 and r["judges"]["refusal"]["label"] != "full_compliance" for r in blocked)


def test_report_html_is_self_contained_with_plots_and_tables(small_run: Path) -> None:
    from lance.cli.main import app

    res = CliRunner().invoke(app, ["report", str(small_run)])
    assert res.exit_code == 0, res.output
    page = (small_run / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3  # safety vs rigid, XSTest types, heatmap
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for b in images)
    assert not re.search(r"""(src|href)=['"](?!data:)""", page), "the page must not reference external files"
    for ds in ("xstest", "harmful"):
        table = re.search(rf"<table class='metrics' data-dataset='{ds}'>(.*?)</table>", page, re.S)
        assert table, f"no table for {ds}"
        assert all(f"<td>{m}</td>" in table.group(1) for m in METHODS)
    md = (small_run / "report.md").read_text(encoding="utf-8")
    assert "| guard_block | 2 |" in md and "![Safety vs rigid rejection](plots/safety_vs_rigid.png)" in md
    assert (small_run / "plots" / "safety_vs_rigid.png").stat().st_size > 1000


def test_report_on_a_missing_run_is_one_line(tmp_path: Path) -> None:
    from lance.cli.main import app

    res = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert res.exit_code != 0


def test_separate_judge_pass_writes_judgments_once(small_run: Path, tmp_path: Path) -> None:
    import shutil

    from lance.eval.judging import EvalJudges
    from lance.eval.rejudge import load_judgments, rejudge
    from lance.eval.report.load import load_run

    run = tmp_path / "copy"
    shutil.copytree(small_run, run)
    judges = EvalJudges.load(LanceSettings())
    assert rejudge(run, judges) == 4 * len(METHODS)
    assert rejudge(run, judges) == 0  # resumable: nothing left for this judge set
    later = load_judgments(run)
    assert len(later) == 4 * len(METHODS)
    merged = load_run(run).records
    assert all(r["judges"]["refusal"]["judge"] == judges.describe()["refusal"] for r in merged)
