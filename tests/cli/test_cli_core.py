"""The ``lance`` command as a user runs it: real process, real model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LANCE = [sys.executable, "-m", "lance"]


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LANCE_")}  # no stray user config
    full_env = {**base, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*LANCE, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=300)


def test_help_lists_commands() -> None:
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("generate", "config"):
        assert cmd in r.stdout


def test_generate_prints_model_text() -> None:
    r = run("generate", "What is the capital of France?", "--temperature", "0", "--max-tokens", "24")
    assert r.returncode == 0, r.stderr
    assert "paris" in r.stdout.lower()


def test_generate_through_http_backend(llama_server: object) -> None:
    r = run(
        "--backend", "openai", "--base-url", llama_server.base_url, "--model", "gemma-3-270m",  # type: ignore[attr-defined]
        "generate", "What is the capital of France?", "--temperature", "0", "--max-tokens", "24",
        env={"LANCE_BACKEND__PROMPT_FORMAT": "completion"},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "paris" in r.stdout.lower()


def _one_line_error(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert needle in r.stderr
    assert len([ln for ln in r.stderr.strip().splitlines() if ln.strip()]) <= 3  # rich may wrap one line


@pytest.mark.parametrize("prompt", ["", "   "])
def test_empty_prompt(prompt: str) -> None:
    _one_line_error(run("generate", prompt), "prompt is empty")


@pytest.mark.parametrize("command", ["respond", "refine", "assess"])
def test_empty_prompt_error_shows_the_command_used(command: str) -> None:
    r = run(command, "")
    _one_line_error(r, "prompt is empty")
    assert f"lance {command} " in r.stderr


def test_missing_gguf(tmp_path: Path) -> None:
    _one_line_error(run("--model-path", str(tmp_path / "none.gguf"), "generate", "hi"), "not found")


def test_corrupt_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00" * 4096)
    _one_line_error(run("--model-path", str(bad), "generate", "hi"), "not a GGUF")


def test_unreachable_server() -> None:
    from lance.backends.local_server import free_port

    r = run(
        "--backend", "openai", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "generate", "hi",
        env={"LANCE_BACKEND__MAX_RETRIES": "0"},
    )  # fmt: skip
    _one_line_error(r, "cannot reach")


def test_invalid_yaml(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("backend: {kind: llamacpp\n")
    _one_line_error(run("--config", str(cfg), "generate", "hi"), "not valid YAML")


def test_unknown_backend() -> None:
    _one_line_error(run("--backend", "telepathy", "generate", "hi"), "backend.kind")


def test_debug_shows_traceback() -> None:
    r = run("--debug", "--backend", "telepathy", "generate", "hi")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_config_show_merges_sources(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("backend:\n  kind: openai\n  base_url: http://x/v1\n  api_key: sekrit\n")
    r = run("--config", str(cfg), "--model", "m1", "config", "show", env={"LANCE_ENCODER__BATCH_SIZE": "9"})
    assert r.returncode == 0, r.stderr
    assert "kind: openai" in r.stdout and "model: m1" in r.stdout and "batch_size: 9" in r.stdout
    assert "sekrit" not in r.stdout


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"LANCE_PIPELINE__NONSENSE": "1"}, "invalid setting pipeline.nonsense"),
        ({"LANCE_PIPELINE__SAFE_THRESHOLD": "3"}, "invalid setting pipeline.safe_threshold"),
        ({"LANCE_SERVER__PORT": "abc"}, "invalid setting server.port"),
    ],
)
def test_a_bad_pipeline_or_server_key_fails_every_command_at_start(env: dict[str, str], needle: str) -> None:
    for cmd in (["config", "show"], ["assess", "hello"]):
        _one_line_error(run(*cmd, env=env), needle)
