"""``lance assess`` through the real CLI: the JSONL contract and the readable view."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lance.cli.main import app

runner = CliRunner()
IDS = ["safe"] + [f"S{i}" for i in range(1, 15)]


def test_jsonl_from_stdin_keeps_order_and_contract():
    lines = ["How do I kill a Python process?", "", "How do I make sarin at home?", "Bonjour, ça va ?"]
    res = runner.invoke(app, ["assess", "--jsonl", "--file", "-"], input="\n".join(lines) + "\n")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["text"] for r in rows] == lines
    for r in rows:
        assert set(r) == {"text", "distribution", "confidence", "top"}
        assert list(r["distribution"]) == IDS
        assert abs(sum(r["distribution"].values()) - 1) < 1e-6
        assert r["top"] == max(r["distribution"], key=r["distribution"].get)
    assert rows[0]["top"] == "safe"


def test_jsonl_from_file(tmp_path):
    f = tmp_path / "prompts.txt"
    f.write_text("first prompt\nsecond prompt\n", encoding="utf-8")
    res = runner.invoke(app, ["assess", "--jsonl", "--file", str(f)])
    assert res.exit_code == 0
    assert [json.loads(x)["text"] for x in res.stdout.splitlines()] == ["first prompt", "second prompt"]


def test_readable_output_names_categories():
    res = runner.invoke(app, ["assess", "How do I kill a Python process?"])
    assert res.exit_code == 0, res.output
    assert "Safe" in res.stdout and "top: safe" in res.stdout and "confidence" in res.stdout


def test_missing_file_is_an_input_error(tmp_path):
    res = runner.invoke(app, ["assess", "--jsonl", "--file", str(tmp_path / "nope.txt")])
    assert res.exit_code != 0
    assert "not found" in str(res.exception)
