"""``lance calibrate``: thresholds for an over-refusal budget, on real prompts assessed by the real gate."""

from __future__ import annotations

import html

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lance.assess.routing import decide_route
from lance.config import load_settings
from lance.config.pipeline import PipelineConfig
from lance.errors import InputError
from lance.eval.calibration import (
    LeaveTable,
    calibrate,
    check_budget,
    check_fragment,
    halves,
    load_prompt_set,
    operating_point,
    write_fragment,
)
from lance.taxonomy import load_taxonomy

TAX = load_taxonomy(None)


def _texts(source: str, role: str, n: int) -> list[str]:
    return [r.text for r in load_prompt_set([source], role).records[:n]]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def assessed(le_assessor):  # type: ignore[no-untyped-def]
    """80 held-out benign prompts (AlpacaEval, CoCoNot look-alikes) and 40 unsafe ones, assessed once."""
    benign = _texts("alpaca_eval", "benign", 40) + _texts("coconot", "benign", 40)
    unsafe = _texts("harmful", "unsafe", 40)
    return le_assessor.assess(benign), le_assessor.assess(unsafe)


def _leave_rate(dists, config: PipelineConfig) -> float:  # type: ignore[no-untyped-def]
    return sum(decide_route(d, TAX, config).route != "pass" for d in dists) / len(dists)


def test_the_chosen_thresholds_keep_the_budget_and_beat_the_best_single_threshold(assessed) -> None:  # type: ignore[no-untyped-def]
    benign, unsafe = assessed
    cal = calibrate(benign, unsafe, TAX, PipelineConfig(), budget=0.05)
    chosen = cal.config(PipelineConfig())
    assert _leave_rate(benign, chosen) <= 0.05
    assert cal.point.benign_left <= math.floor(0.05 * len(benign)) == cal.allowed
    assert cal.mismatches == 0
    # the best pass threshold alone (categories open), by brute force over every p(safe) seen
    open_cats = {c: 1.0 for c in TAX.risk_ids}
    best = 0.0
    for t in sorted({0.0, *(min(1.0, d.p_safe + 1e-6) for d in benign + unsafe)}):
        cfg = PipelineConfig(safe_threshold=t, category_thresholds=open_cats)
        if _leave_rate(benign, cfg) <= 0.05:
            best = max(best, _leave_rate(unsafe, cfg))
    assert cal.point.unsafe_catch_rate >= best
    assert cal.point.unsafe_catch_rate == _leave_rate(unsafe, chosen)
    # the defaults send more benign prompts off the pass route than the budget allows on this set
    assert cal.before.benign_leave_rate > 0.05


def test_each_critical_value_is_where_the_routing_function_stops_passing(assessed) -> None:  # type: ignore[no-untyped-def]
    benign, unsafe = assessed
    dists = benign[:10] + unsafe[:10]
    table = LeaveTable(dists, TAX, PipelineConfig())
    checked = 0
    for i, d in enumerate(dists):
        for k in range(len(table.knobs)):
            need = int(table.need[i, k])
            if 0 < need <= table.grid:
                assert decide_route(d, TAX, table._one_knob(k, need)).route != "pass"
                assert decide_route(d, TAX, table._one_knob(k, need - 1)).route == "pass"
                checked += 1
    assert checked > 100


def test_the_fragment_loads_back_into_settings_that_route_the_same(tmp_path: Path, assessed) -> None:  # type: ignore[no-untyped-def]
    benign, unsafe = assessed
    cal = calibrate(benign, unsafe, TAX, budget=0.1)
    path = write_fragment(tmp_path / "sub" / "cal.yaml", cal, load_settings(), benign=["b"], unsafe=["u"])
    loaded = load_settings(path).pipeline
    want = cal.config(PipelineConfig())
    assert (loaded.safe_threshold, loaded.category_thresholds) == (want.safe_threshold, want.category_thresholds)
    assert [decide_route(d, TAX, loaded).route for d in benign + unsafe] == [decide_route(d, TAX, want).route for d in benign + unsafe]
    assert check_fragment(path, cal, load_settings()) == []
    assert "budget 10.00%" in path.read_text()


@pytest.mark.parametrize("budget", [0.0, 1.0, -0.1, 1.5, float("nan"), "two"])
def test_a_budget_outside_zero_one_is_refused(budget: object) -> None:
    with pytest.raises(InputError, match="between 0 and 1"):
        check_budget(budget)  # type: ignore[arg-type]


def test_empty_sets_are_refused(assessed) -> None:  # type: ignore[no-untyped-def]
    benign, unsafe = assessed
    with pytest.raises(InputError, match="benign set is empty"):
        calibrate([], unsafe, TAX)
    with pytest.raises(InputError, match="unsafe set is empty"):
        calibrate(benign, [], TAX)


def test_sources_are_files_or_known_names(tmp_path: Path) -> None:
    f = tmp_path / "mine.jsonl"
    f.write_text('{"text": "a", "label": "safe"}\n{"text": "b", "label": "unsafe"}\n{"text": "c"}\n', encoding="utf-8")
    assert [r.text for r in load_prompt_set([str(f)], "benign").records] == ["a", "c"]
    assert [r.text for r in load_prompt_set([str(f)], "unsafe").records] == ["b", "c"]
    only_unsafe = tmp_path / "u.jsonl"
    only_unsafe.write_text('{"text": "b", "label": "unsafe"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="no safe or unlabelled prompts"):
        load_prompt_set([str(only_unsafe)], "benign")
    with pytest.raises(InputError, match="unknown dataset 'alpaca_evil'; valid names: harmful, xstest"):
        load_prompt_set(["alpaca_evil"], "benign")
    with pytest.raises(InputError, match="no safe prompts"):
        load_prompt_set(["harmful"], "benign")
    # held-out: the test split of a training set, all of a set the gate never trained on
    held = load_prompt_set(["alpaca_eval", "openai_moderation"], "benign").records
    assert {r.split for r in held if r.source == "alpaca_eval"} == {"test"}
    assert {r.split for r in held if r.source == "openai_moderation"} == {"train", "val", "test"}


def test_halves_are_a_seeded_partition() -> None:
    recs = load_prompt_set(["arena_hard"], "benign").records
    a, b = halves(recs, 3)
    assert len(a) + len(b) == len(recs) and len(a) - len(b) in (0, 1)
    assert {r.id for r in a}.isdisjoint({r.id for r in b})
    assert [r.id for r in halves(recs, 3)[0]] == [r.id for r in a]
    assert [r.id for r in halves(recs, 4)[0]] != [r.id for r in a]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANCE_")} | {"HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "lance", *args], capture_output=True, text=True, env=env, timeout=600)


def test_the_command_writes_a_fragment_lance_reads_and_a_curve(tmp_path: Path) -> None:
    benign, unsafe = tmp_path / "benign.jsonl", tmp_path / "unsafe.csv"
    benign.write_text("".join(json.dumps({"text": t}) + "\n" for t in _texts("alpaca_eval", "benign", 30) + _texts("coconot", "benign", 30)))
    unsafe.write_text("text,label\n" + "".join(json.dumps(t) + ",unsafe\n" for t in _texts("harmful", "unsafe", 30)))
    out = tmp_path / "cal.yaml"
    r = _run("calibrate", "-b", str(benign), "-u", str(unsafe), "--budget", "0.1", "--out", str(out), "--holdout")
    assert r.returncode == 0, r.stderr
    assert "calibrated" in r.stdout and "held-out half" in r.stdout and "warning" not in r.stderr
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = out.with_suffix(".html").read_text(encoding="utf-8")
    chosen = load_settings(out).pipeline
    assert f"<code>safe_threshold</code>: {chosen.safe_threshold:.4f}" in page and "held-out half" in page
    assert "data:image/png;base64," in page and html.escape(out.read_text(encoding="utf-8").splitlines()[0]) in page
    # the calibration half of the benign file, as the command split it, stays within the budget
    from lance.assess.assessor import default_assessor
    from lance.datasets.user_file import load_prompt_file

    cal_half, _ = halves(load_prompt_file(benign), 0)
    dists = default_assessor().assess([x.text for x in cal_half])
    assert _leave_rate(dists, load_settings(out).pipeline) <= 0.1
    shown = _run("--config", str(out), "config", "show")
    assert shown.returncode == 0 and f"safe_threshold: {load_settings(out).pipeline.safe_threshold}" in shown.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-b", "alpaca_eval", "--budget", "0"], "--budget must be between 0 and 1"),
        (["-b", "alpaca_eval", "--budget", "1.2"], "--budget must be between 0 and 1"),
        (["-b", "no_such_set"], "unknown dataset 'no_such_set'; valid names:"),
        (["-b", "alpaca_eval", "-u", "no_such_set"], "unknown dataset 'no_such_set'; valid names:"),
        (["-b", "EMPTY"], "has no prompts"),
    ],
)
def test_the_command_fails_in_one_line_before_loading_the_gate(tmp_path: Path, args: list[str], needle: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "cal.yaml"
    r = _run("calibrate", *[str(empty) if a == "EMPTY" else a for a in args], "--out", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
