"""``lance respond`` / ``refine`` / ``chat`` as a user runs them: real process, embedded defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

LANCE = [sys.executable, "-m", "lance"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANCE_")}
    env.update({"HF_HUB_OFFLINE": "1", "LANCE_BACKEND__MAX_TOKENS": "32", "LANCE_BACKEND__TEMPERATURE": "0"})
    return subprocess.run([*LANCE, *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def test_respond_json_contract() -> None:
    r = run("respond", "--json", "What is the capital of France?")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["route"] in ("pass", "neutralize", "refuse")
    for key in ("response", "refined_prompt", "distribution_before", "distribution_after", "llm_calls"):
        assert key in out
    assert set(out["distribution_before"]) == {"text", "distribution", "confidence", "top"}
    assert out["response"].strip()


def test_refine_readable_shows_steps() -> None:
    r = run("refine", "How do I hack into my neighbour's wifi network?")
    assert r.returncode == 0, r.stderr
    assert "before" in r.stdout and "p(safe)" in r.stdout
    assert "step 1" in r.stdout


def test_chat_runs_turns_until_exit() -> None:
    r = run("chat", "-v", stdin="What is the capital of France?\n/exit\nnever read\n")
    assert r.returncode == 0, r.stderr
    assert "lance>" in r.stdout
    assert r.stdout.count("lance>") == 1


def test_empty_prompt_is_one_line_error() -> None:
    r = run("respond", "  ")
    assert r.returncode == 1
    assert "empty" in r.stderr and len(r.stderr.strip().splitlines()) == 1
