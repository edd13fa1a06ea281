"""Running the app under uvicorn with graceful shutdown.

On SIGTERM/SIGINT uvicorn stops accepting connections, lets in-flight
requests (streams included) finish for up to ``graceful_timeout`` seconds,
then exits.
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from lance.config.server import ServerConfig, check_exposure


def limit_cpu(config: ServerConfig) -> None:
    """Cap the assessor's CPU use in this process: torch threads per encode, encodes at once.

    Process-wide, so only ``lance serve`` calls it (not ``create_app``, which tests embed).
    """
    from lance.embeddings.sharing import set_encode_slots

    if config.torch_threads is not None:
        import torch

        torch.set_num_threads(config.torch_threads)
    set_encode_slots(config.encode_slots)


def serve(app: FastAPI, config: ServerConfig, *, log_level: str = "info") -> None:
    """Serve ``app`` on ``config.host:config.port`` until a shutdown signal (blocking).

    Refuses (``ConfigError``) a non-loopback host without API keys unless ``allow_unauthenticated``.
    """

    check_exposure(config)
    from lance.server.decision_log import log_decisions_to_stderr

    log_decisions_to_stderr()  # one JSON line per chat request, beside uvicorn's log
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=log_level,
            timeout_graceful_shutdown=config.graceful_timeout,
            # OpenAI clients keep connections alive between requests.
            timeout_keep_alive=30,
            server_header=False,
        )
    )
    server.run()
