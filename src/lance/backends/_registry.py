"""Build a chat model from configuration; each SDK is imported only when used."""

from __future__ import annotations

from lance.backends.base import ChatModel, GenerateParams
from lance.config import BackendConfig
from lance.errors import ConfigError


def params_from_config(cfg: BackendConfig) -> GenerateParams:
    return GenerateParams(temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=cfg.seed, timeout=cfg.timeout)


def get_chat_model(cfg: BackendConfig) -> ChatModel:
    """Instantiate the backend named by ``cfg.kind``."""
    params = params_from_config(cfg)
    if cfg.kind == "llamacpp":
        from lance.backends.llamacpp import LlamaCppChatModel

        return LlamaCppChatModel(
            cfg.model_path,
            prompt_format=cfg.prompt_format,
            n_ctx=cfg.n_ctx,
            n_threads=cfg.n_threads,
            seed=cfg.seed or 0,
            params=params,
        )
    if cfg.kind == "transformers":
        from lance.backends.hf import TransformersChatModel

        return TransformersChatModel(
            cfg.model_path, prompt_format=cfg.prompt_format, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, params=params
        )
    if cfg.kind == "openai":
        from lance.backends.openai_compat import OpenAICompatChatModel

        if not cfg.base_url:
            raise ConfigError("backend.kind=openai needs backend.base_url (e.g. --base-url http://localhost:8000/v1)")
        return OpenAICompatChatModel(
            cfg.base_url,
            cfg.model,
            api_key=cfg.api_key,
            timeout=cfg.timeout,
            max_retries=cfg.max_retries,
            prompt_format="completion" if cfg.prompt_format == "completion" else "chat",
            params=params,
        )
    raise ConfigError(f"unknown backend {cfg.kind!r}: use 'llamacpp', 'openai' or 'transformers'")
