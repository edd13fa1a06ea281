"""LANCE configuration: defaults < YAML file < environment (``LANCE_*``) < flags, validated at load."""

from lance.config.pipeline import Action, PipelineConfig, Route, load_pipeline_config
from lance.config.server import ServerConfig, server_config
from lance.config.settings import (
    PRECISIONS,
    BackendConfig,
    BackendKind,
    EncoderConfig,
    LanceSettings,
    Precision,
    load_settings,
    read_yaml,
)

__all__ = [
    "PRECISIONS",
    "Action",
    "BackendConfig",
    "BackendKind",
    "EncoderConfig",
    "LanceSettings",
    "PipelineConfig",
    "Route",
    "Precision",
    "ServerConfig",
    "load_pipeline_config",
    "load_settings",
    "read_yaml",
    "server_config",
]
