"""Fixtures for the server tests.

``lance_http`` is the session's main proxy: the real ``Lance`` pipeline with
the embedded model as target, served by uvicorn in a thread on a free port.
Tests that need process-level behaviour (SIGTERM) start ``lance serve`` as a
child process (``server_helpers.LanceServeProcess``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import KEY, MAX_TOKENS, RecordingChatModel, ThreadServer, make_settings

from lance.backends import ChatModel
from lance.lance import Lance
from lance.server.app import create_app
from lance.config.server import ServerConfig


@pytest.fixture(scope="session")
def recorder(embedded_model: ChatModel) -> RecordingChatModel:
    return RecordingChatModel(embedded_model)


@pytest.fixture(scope="session")
def lance_pipeline(recorder: RecordingChatModel) -> Iterator[Lance]:
    """The real pipeline; target and refiner are the embedded model (recorded, observed for failures)."""
    lance = Lance(make_settings(), target=recorder, refiner=recorder)
    lance.assess("warm-up")
    yield lance
    lance.close()


@pytest.fixture(scope="session")
def lance_http(lance_pipeline: Lance) -> Iterator[ThreadServer]:
    """The proxy (real pipeline, embedded model) on a loopback port, key ``KEY`` required, risk exposed
    (so the tests can read the distributions; the default, hidden, is tested in test_safe_defaults.py)."""
    app = create_app(lance_pipeline, ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, expose_risk=True))
    with ThreadServer(app) as server:
        yield server
