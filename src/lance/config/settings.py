"""LANCE configuration: defaults < YAML file < environment (``LANCE_*``) < flags.

Nested keys use ``__`` in the environment, e.g. ``LANCE_BACKEND__KIND=openai``,
``LANCE_BACKEND__BASE_URL=http://localhost:8000/v1``. The YAML file is the one
passed with ``--config`` or named by ``LANCE_CONFIG``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lance.config.pipeline import PipelineConfig
from lance.config.server import ServerConfig
from lance.errors import ConfigError

BackendKind = Literal["llamacpp", "openai", "transformers"]


class BackendConfig(BaseModel):
    """Which chat model to call and how."""

    model_config = ConfigDict(extra="forbid")

    kind: BackendKind = "llamacpp"
    #: GGUF file for ``llamacpp``; a checkpoint folder or GGUF file for ``transformers``;
    #: ``None`` is the embedded Gemma 3 270M.
    model_path: Path | None = None
    #: ``auto``: the model's chat template when it has one, else a completion transcript.
    prompt_format: Literal["auto", "chat", "completion"] = "auto"
    n_ctx: int = Field(default=2048, ge=256)
    #: CPU threads: llama.cpp's, or for ``transformers`` torch's (process-wide; ``None``: torch's default).
    n_threads: int | None = Field(default=None, ge=1)
    #: OpenAI-compatible endpoint, e.g. ``http://localhost:8000/v1``.
    base_url: str | None = None
    api_key: str | None = None
    model: str = "default"
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1)
    seed: int | None = 0


#: Arithmetic of the gate's encoder. ``fp32``: exact, batch-independent embeddings. ``bf16``: matrix
#: products in bfloat16 (autocast), ~2x batched throughput on CPUs with AMX, at a small,
#: batch-dependent drift (docs/label_enhancement.md).
Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


class EncoderConfig(BaseModel):
    """Sentence encoder used by the label-enhancement model and similarity checks."""

    model_config = ConfigDict(extra="forbid")

    #: ``all-MiniLM-L6-v2`` is the packaged default; ``all-mpnet-base-v2`` the larger, slower gate
    #: (``lance[mpnet]``; its packaged checkpoint is then used); otherwise a local sentence-transformers folder.
    name: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(default=64, ge=1)
    max_chars: int = Field(default=4000, ge=16)
    #: Arithmetic of the label-enhancement gate's encoder (``lance assess``, the pipeline's gate).
    #: ``fp32`` (default) gives exact embeddings that do not depend on what else is in the batch;
    #: ``bf16`` runs the matrix products in bfloat16, about 2x the batched throughput on CPUs with
    #: AMX, with probabilities moving by up to ~0.015. Similarity checks and judges stay fp32.
    precision: Precision = "fp32"


class LanceSettings(BaseSettings):
    """Everything LANCE can be configured with."""

    model_config = SettingsConfigDict(env_prefix="LANCE_", env_nested_delimiter="__", extra="forbid")

    backend: BackendConfig = Field(default_factory=BackendConfig)
    #: Refiner LLM; ``None`` reuses ``backend``.
    refiner: BackendConfig | None = None
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    #: Taxonomy YAML; ``None`` is the packaged MLCommons/Llama Guard 3 taxonomy.
    taxonomy: Path | None = None
    #: Label-enhancement checkpoint; ``None`` is the packaged default.
    le_checkpoint: Path | None = None
    #: Read windows of long turns and system turns with the window gate (``checkpoints/window*.pt``);
    #: ``false`` (``LANCE_WINDOW_GATE=false``): the shipped gate reads them too. Short prompts are
    #: read by the shipped gate either way.
    window_gate: bool = True
    #: Routing, gradient and refinement settings (validated with the rest: a bad key fails at start).
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    #: ``lance serve``'s settings.
    server: ServerConfig = Field(default_factory=ServerConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, turning every failure into a ``ConfigError`` that names the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{at}; fix the syntax and retry") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping of settings, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(root)"
    extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid setting {loc}: {first['msg']}{extra}"


def load_settings(config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> LanceSettings:
    """Build settings from the YAML file, the environment and explicit overrides (highest)."""
    path = config_path or (Path(os.environ["LANCE_CONFIG"]) if os.environ.get("LANCE_CONFIG") else None)
    file_data = read_yaml(path) if path else {}
    try:
        env_only = LanceSettings().model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise ConfigError(f"environment: {_describe(exc)}") from None
    merged = _deep_merge(_deep_merge(file_data, env_only), overrides or {})
    try:
        return LanceSettings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
