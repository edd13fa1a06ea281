"""``lance data list`` / ``lance data show`` run as a real subprocess on the real data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LANCE = str(Path(sys.executable).parent / "lance")
ENV = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LANCE, *args], capture_output=True, text=True, env=ENV, timeout=120)


def test_data_list_shows_every_dataset_with_counts() -> None:
    res = _run("data", "list")
    assert res.returncode == 0, res.stderr
    lines = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") > 5}
    assert "harmbench" in lines and "self_instruct_user_oriented" in lines and len(lines) == 18
    cells = [c.strip() for c in lines["openai_moderation"].split("│")[1:-1]]
    assert cells == ["openai_moderation", "1158", "522", "490", "MIT", "eval"]
    assert "eval-only" in lines["xstest"] and "(NC)" in lines["refusal_direction"]


def test_data_show_prints_counts_categories_splits_and_examples() -> None:
    res = _run("data", "show", "harmbench")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "records: 400" in out
    assert "Indiscriminate Weapons" in out and "56" in out
    assert "by split" in out and "examples" in out
    assert sum(line.startswith("- [unsafe]") for line in out.splitlines()) == 3


def test_data_show_unknown_name_is_one_line_error() -> None:
    res = _run("data", "show", "nope")
    assert res.returncode == 1
    err = res.stderr.strip()
    assert "\n" not in err and "unknown dataset 'nope'" in err and "xstest" in err
