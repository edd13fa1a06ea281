"""Shared fixtures: the real embedded model, LANCE's own refiner (the same model + the
packaged adapter), the real encoder, a real llama.cpp server. Session-scoped so each loads once per test run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def embedded_model() -> Iterator[object]:
    """The embedded Gemma 3 270M base model through llama.cpp."""
    from lance.backends.llamacpp import LlamaCppChatModel

    model = LlamaCppChatModel(n_threads=2)
    yield model
    model.close()


@pytest.fixture(scope="session")
def own_refiner() -> Iterator[object]:
    """LANCE's own refinement model: the embedded model with the packaged LoRA adapter."""
    from lance.refine.own_model import OwnRefinementModel

    model = OwnRefinementModel(n_threads=2)
    yield model
    model.close()


@pytest.fixture(scope="session")
def encoder() -> object:
    from lance.embeddings.encoder import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[object]:
    """A real llama-cpp-python OpenAI-compatible server on a free loopback port."""
    from lance.backends.local_server import LocalLlamaServer

    server = LocalLlamaServer(n_threads=2).start()
    yield server
    server.stop()
