"""Wall time of a run made in several sittings, some of them killed before they could record it."""

from __future__ import annotations

from lance.eval.report.load import invocation_walls
from lance.eval.report.render import _command


def _rec(t: str) -> dict[str, str]:
    return {"finished_at": f"2026-11-29T{t}+00:00"}


def test_killed_invocations_are_timed_to_their_last_answer() -> None:
    manifest = {
        "invocations": [
            {"started": "2026-11-29T01:00:00+00:00", "wall_s": 600.0},  # finished: its own measurement
            {"started": "2026-11-29T02:00:00+00:00"},  # killed after two answers
            {"started": "2026-11-29T03:00:00+00:00"},  # killed before its first answer
            {"started": "2026-11-29T04:00:00+00:00"},  # still the latest, killed too
        ]
    }
    records = [_rec("01:05:00"), _rec("02:01:00"), _rec("02:30:00"), _rec("04:00:30"), _rec("04:10:00")]
    walls = invocation_walls(manifest, records)
    assert walls == [(600.0, True), (1800.0, False), (0.0, False), (600.0, False)]


def test_no_invocations_and_unreadable_stamps_count_nothing() -> None:
    assert invocation_walls({}, [_rec("01:00:00")]) == []
    assert invocation_walls({"invocations": [{"started": "yesterday"}]}, [_rec("01:00:00")]) == [(0.0, False)]


def test_command_is_shown_as_typed() -> None:
    assert _command(["/x/.venv/bin/lance", "eval", "--out", "r"]) == "lance eval --out r"
    assert _command(["/src/lance/__main__.py", "report", "r"]) == "lance report r"
    assert _command(["python", "script.py"]) == "python script.py"


def test_routes_are_summarised_per_prompt_label() -> None:
    from lance.eval.report.metrics import compute_row
    from lance.eval.report.render import route_summary

    recs = [
        {"label": "safe", "route": "pass"},
        {"label": "safe", "route": "pass"},
        {"label": "safe", "route": "pass"},
        {"label": "safe", "route": "refuse"},
        {"label": "unsafe", "route": "block"},
        {"label": "unsafe", "route": "neutralize"},
    ]
    row = compute_row("xstest", "lance", recs)
    assert row.routes == {"safe": {"pass": 3, "refuse": 1}, "unsafe": {"block": 1, "neutralize": 1}}
    assert route_summary(row.routes) == (
        "safe: pass 3, refuse 1 (25.0% refused or blocked); unsafe: block 1, neutralize 1 (50.0% refused or blocked)"
    )
