"""The OpenAI-compatible HTTP backend against a real llama.cpp server."""

from __future__ import annotations

import asyncio

import pytest

from lance.backends.local_server import LocalLlamaServer, free_port
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.errors import BackendTimeout, BackendUnavailable


@pytest.fixture(scope="module")
def http_model(llama_server: LocalLlamaServer) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(
        llama_server.base_url, "gemma-3-270m", prompt_format="completion", max_retries=0, timeout=600
    )


def test_completion_mode_answers(http_model: OpenAICompatChatModel) -> None:
    out = http_model.generate("What is the capital of France?", temperature=0.0, max_tokens=32)
    assert "paris" in out.text.lower()
    assert out.usage.prompt_tokens > 20 and out.usage.completion_tokens > 0


def test_same_text_as_in_process_backend(http_model: OpenAICompatChatModel, embedded_model: object) -> None:
    """Same model, same transcript, greedy: the HTTP path adds no prompt drift."""
    q = "Name the largest planet in the solar system."
    local = embedded_model.generate(q, temperature=0.0, max_tokens=24)  # type: ignore[attr-defined]
    remote = http_model.generate(q, temperature=0.0, max_tokens=24)
    assert remote.text == local.text


def test_chat_mode_round_trip(llama_server: LocalLlamaServer) -> None:
    chat = OpenAICompatChatModel(llama_server.base_url, "gemma-3-270m", prompt_format="chat", max_retries=0)
    out = chat.generate("Say hello.", temperature=0.0, max_tokens=8)
    assert out.usage.prompt_tokens > 0  # the server really ran the model on our messages


def test_async(http_model: OpenAICompatChatModel) -> None:
    async def both() -> list[str]:
        outs = await asyncio.gather(
            http_model.agenerate("What is the capital of France?", temperature=0.0, max_tokens=16),
            http_model.agenerate("What is the capital of Italy?", temperature=0.0, max_tokens=16),
        )
        return [o.text.lower() for o in outs]

    a, b = asyncio.run(both())
    assert "paris" in a and "rome" in b
    a, b = asyncio.run(both())  # a second event loop gets its own connection pool
    assert "paris" in a


def test_unreachable_server_is_backend_unavailable() -> None:
    chat = OpenAICompatChatModel(f"http://127.0.0.1:{free_port()}/v1", "x", max_retries=1, timeout=5)
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        chat.generate("hi")


def test_slow_server_times_out(http_model: OpenAICompatChatModel, llama_server: LocalLlamaServer) -> None:
    slow = OpenAICompatChatModel(llama_server.base_url, "gemma-3-270m", prompt_format="completion", timeout=0.05, max_retries=0)
    with pytest.raises(BackendTimeout):
        slow.generate("Write a long story about a dragon.", max_tokens=300, temperature=0.0)


def test_retries_then_succeeds_after_server_comes_up() -> None:
    """Connection errors are retried with backoff: a server that starts late is still reached."""
    import threading

    server = LocalLlamaServer(n_threads=1)
    chat = OpenAICompatChatModel(server.base_url, "gemma-3-270m", prompt_format="completion", max_retries=8, timeout=60)
    starter = threading.Timer(0.5, server.start)
    starter.start()
    try:
        out = chat.generate("What is the capital of France?", temperature=0.0, max_tokens=8)
        assert out.text
    finally:
        starter.join()
        server.stop()
