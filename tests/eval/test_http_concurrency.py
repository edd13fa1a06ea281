"""The runner against a real OpenAI-compatible server (llama-cpp-python's), several items in flight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lance.config import BackendConfig, LanceSettings
from lance.eval.runner import EvalArgs, run_eval


@pytest.mark.slow
def test_concurrent_run_against_http_backend(tmp_path: Path, llama_server) -> None:
    backend = BackendConfig(kind="openai", base_url=llama_server.base_url, model="gemma-3-270m", prompt_format="completion")
    settings = LanceSettings(backend=backend)
    args = EvalArgs(datasets=["xstest"], methods=["vanilla,safety_prompt"], limit=4, max_tokens=12, concurrency=4, judge=False)
    summary = run_eval(settings, args, tmp_path / "run")
    assert summary.failed == 0 and summary.done == 8
    recs = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert len({(r["item_id"], r["method"]) for r in recs}) == 8
    assert {r["model"] for r in recs} == {"openai/gemma-3-270m"}  # every row names the model that answered it
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["common"]["backend"]["kind"] == "openai" and "api_key" not in manifest["common"]["backend"]
