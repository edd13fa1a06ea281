"""The llama.cpp backend on the real embedded model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lance.backends import GenerateParams
from lance.backends.llamacpp import LlamaCppChatModel
from lance.errors import BackendTimeout, InputError, ModelFileError


def test_answers_a_factual_question(embedded_model: LlamaCppChatModel) -> None:
    out = embedded_model.generate("What is the capital of France?", temperature=0.0, max_tokens=32)
    assert "paris" in out.text.lower()
    assert out.usage.prompt_tokens > 20  # the few-shot transcript is counted
    assert 0 < out.usage.completion_tokens <= 32
    assert out.latency_s > 0
    assert "User:" not in out.text  # stop sequences end the turn


def test_embedded_default_uses_completion_prompt(embedded_model: LlamaCppChatModel) -> None:
    assert embedded_model.prompt_format == "completion"
    assert embedded_model.model_path.name == "gemma-3-270m-q4_k_m.gguf"


def test_same_seed_same_text(embedded_model: LlamaCppChatModel) -> None:
    a = embedded_model.generate("Name a fruit.", temperature=0.9, seed=7, max_tokens=16)
    b = embedded_model.generate("Name a fruit.", temperature=0.9, seed=7, max_tokens=16)
    assert a.text == b.text


def test_max_tokens_and_stop_are_honoured(embedded_model: LlamaCppChatModel) -> None:
    out = embedded_model.generate("Count from one to twenty in words.", temperature=0.0, max_tokens=4)
    assert out.usage.completion_tokens <= 4
    stopped = embedded_model.generate(
        "List three colours, one per line.", params=GenerateParams(temperature=0.0, max_tokens=48, stop=("\n",))
    )
    assert "\n" not in stopped.text


def test_multi_turn_context_reaches_the_model(embedded_model: LlamaCppChatModel) -> None:
    msgs = [
        {"role": "user", "content": "My name is Zorblax."},
        {"role": "assistant", "content": "Nice to meet you, Zorblax."},
        {"role": "user", "content": "What is my name?"},
    ]
    out = embedded_model.generate(msgs, temperature=0.0, max_tokens=16)
    assert "zorblax" in out.text.lower()


def test_async_generate(embedded_model: LlamaCppChatModel) -> None:
    out = asyncio.run(embedded_model.agenerate("What is the capital of France?", temperature=0.0, max_tokens=16))
    assert "paris" in out.text.lower()


def test_timeout_raises(embedded_model: LlamaCppChatModel) -> None:
    with pytest.raises(BackendTimeout):
        embedded_model.generate("Write a long story about a dragon.", max_tokens=400, timeout=0.05, temperature=0.0)


@pytest.mark.parametrize("bad", ["", "   ", [], [{"role": "user", "content": ""}], 42])
def test_empty_or_wrong_prompt_is_an_input_error(embedded_model: LlamaCppChatModel, bad: object) -> None:
    with pytest.raises(InputError):
        embedded_model.generate(bad)  # type: ignore[arg-type]


def test_unknown_role_is_an_input_error(embedded_model: LlamaCppChatModel) -> None:
    with pytest.raises(InputError, match="message 0"):
        embedded_model.generate([{"role": "wizard", "content": "hi"}])


def test_oversized_prompt_is_a_clear_error(embedded_model: LlamaCppChatModel) -> None:
    from lance.errors import BackendResponseError

    with pytest.raises(BackendResponseError, match="context window"):
        embedded_model.generate("word " * 5000, max_tokens=8)


def test_missing_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        LlamaCppChatModel(tmp_path / "nope.gguf")


def test_corrupt_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        LlamaCppChatModel(bad)


def test_truncated_gguf(tmp_path: Path, embedded_model: LlamaCppChatModel) -> None:
    cut = tmp_path / "cut.gguf"
    with embedded_model.model_path.open("rb") as fh:
        cut.write_bytes(fh.read(1 << 20))
    with pytest.raises(ModelFileError):
        LlamaCppChatModel(cut)
