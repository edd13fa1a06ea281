"""Kill ``lance eval`` with SIGKILL mid-run, start it again, and get every result exactly once.

A real subprocess on the real embedded model: nothing is simulated except one extra torn line
appended after the kill (a kill lands between writes far more often than inside one, so the
torn tail is added by hand to make sure the restart cuts it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

LIMIT = 4
METHODS = ("vanilla", "safety_prompt")


def _cmd(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "lance", "eval",
        "--dataset", "xstest", "--methods", ",".join(METHODS),
        "--limit", str(LIMIT), "--max-tokens", "12", "--no-judge", "--quiet", "--out", str(out),
    ]  # fmt: skip


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_sigkill_then_restart_completes_without_loss_or_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "run"
    results = out / "results.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LANCE_BACKEND__N_THREADS": "2"}
    proc = subprocess.Popen(_cmd(out), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while len(_lines(results)) < 3:
        if proc.poll() is not None:
            pytest.fail(f"lance eval exited early ({proc.returncode}): {proc.stdout.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no results landed within 240 s")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    landed = len(_lines(results))
    assert 3 <= landed < LIMIT * len(METHODS), "the kill must land mid-run"
    with results.open("a", encoding="utf-8") as fh:
        fh.write('{"dataset": "xstest", "item_id": "torn')  # an interrupted write

    done = subprocess.run(_cmd(out), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{landed} already done" in done.stdout

    recs = [json.loads(line) for line in _lines(results)]  # every line parses: the torn tail was cut
    keys = Counter((r["dataset"], r["item_id"], r["method"]) for r in recs)
    assert max(keys.values()) == 1, "duplicated results"
    items = {r["item_id"] for r in recs}
    assert len(items) == LIMIT and set(keys) == {("xstest", i, m) for i in items for m in METHODS}
    manifest = json.loads((out / "run.json").read_text())
    assert len(manifest["invocations"]) == 2 and manifest["invocations"][-1]["completed"] == LIMIT * len(METHODS) - landed
    # a third run has nothing left to do
    again = subprocess.run(_cmd(out), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"0 new, {LIMIT * len(METHODS)} already done" in again.stdout
    assert len(_lines(results)) == LIMIT * len(METHODS)
