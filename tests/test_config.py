"""Configuration: defaults < YAML < environment < flags, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lance.config import load_settings
from lance.errors import ConfigError


def test_defaults_are_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANCE_CONFIG", raising=False)
    s = load_settings()
    assert s.backend.kind == "llamacpp" and s.backend.model_path is None
    assert s.encoder.name == "all-MiniLM-L6-v2"


def test_precedence_yaml_env_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("backend:\n  kind: openai\n  base_url: http://a/v1\n  model: from-yaml\n  timeout: 5\n")
    monkeypatch.setenv("LANCE_BACKEND__MODEL", "from-env")
    s = load_settings(cfg)
    assert (s.backend.kind, s.backend.base_url, s.backend.model, s.backend.timeout) == (
        "openai", "http://a/v1", "from-env", 5.0)  # fmt: skip
    s = load_settings(cfg, {"backend": {"model": "from-flag"}})
    assert s.backend.model == "from-flag" and s.backend.base_url == "http://a/v1"


def test_lance_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("encoder:\n  batch_size: 7\n")
    monkeypatch.setenv("LANCE_CONFIG", str(cfg))
    assert load_settings().encoder.batch_size == 7


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("backend: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must contain a mapping"),
        ("backend:\n  kind: gpt5000\n", "backend.kind"),
        ("backend:\n  n_ctx: -3\n", "backend.n_ctx"),
        ("nonsense_key: 1\n", "nonsense_key"),
    ],
)
def test_broken_config_is_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_settings(cfg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml")


def test_bad_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANCE_BACKEND__TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="environment"):
        load_settings()
