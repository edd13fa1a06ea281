"""The transformers backend on the real embedded model (the packaged GGUF, dequantised), and on a
real checkpoint folder written from it. The model loads once for the module; answers are short."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lance.backends import Completion, GenerateParams, get_chat_model
from lance.backends.events import record_calls, with_role
from lance.backends.hf import TransformersChatModel
from lance.config import BackendConfig, LanceSettings
from lance.errors import BackendResponseError, BackendTimeout, ConfigError, ModelFileError

FRANCE = "What is the capital of France?"
GREEDY = GenerateParams(temperature=0.0, max_tokens=10, seed=0)

#: A Gemma-style chat template, written out here so the test knows what the prompt must be.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@pytest.fixture(scope="module")
def tf_model() -> Iterator[TransformersChatModel]:
    """The embedded model through ``backend.kind: transformers``, as the pipeline builds it.

    One torch thread: on this shared 2-core box two threads made a 1-token call 17 s instead
    of 2.6 s (OpenMP threads spin while the cores are busy); restored afterwards.
    """
    import torch

    threads = torch.get_num_threads()
    model = get_chat_model(BackendConfig(kind="transformers", n_threads=1, max_tokens=10))
    assert isinstance(model, TransformersChatModel)
    yield model
    model.close()
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def greedy(tf_model: TransformersChatModel) -> Completion:
    return tf_model.generate(FRANCE, GREEDY)


def test_embedded_gguf_answers_greedily(tf_model: TransformersChatModel, greedy: Completion) -> None:
    assert tf_model.name == "transformers/gemma-3-270m-q4_k_m"
    assert tf_model.prompt_format == "completion"  # the GGUF has no chat template, and it is a base model
    assert "paris" in greedy.text.lower()
    assert "User" not in greedy.text  # the transcript's stop sequence ended the turn
    assert greedy.finish_reason == "stop"
    assert greedy.usage.prompt_tokens > 20  # the few-shot transcript is counted
    assert 0 < greedy.usage.completion_tokens <= GREEDY.max_tokens
    assert greedy.latency_s > 0


def test_stop_sequence_cuts_the_answer(tf_model: TransformersChatModel, greedy: Completion) -> None:
    out = tf_model.generate(FRANCE, GREEDY, stop=("France",))
    assert out.text and "France" not in out.text
    assert greedy.text.startswith(out.text)  # the same greedy answer, cut where the stop string began
    assert out.finish_reason == "stop"
    assert out.usage.completion_tokens < greedy.usage.completion_tokens


def test_max_tokens_is_respected(tf_model: TransformersChatModel) -> None:
    out = tf_model.generate("Count from one to twenty in words.", temperature=0.0, max_tokens=3)
    assert out.finish_reason == "length"
    assert out.usage.completion_tokens == 3
    assert len(tf_model.tokenizer(out.text, add_special_tokens=False).input_ids) <= 3


def test_seed_makes_sampling_reproducible(tf_model: TransformersChatModel) -> None:
    p = GenerateParams(temperature=1.0, max_tokens=8, seed=7)
    a = tf_model.generate("Write a sentence about a cat.", p)
    b = tf_model.generate("Write a sentence about a cat.", p)
    c = tf_model.generate("Write a sentence about a cat.", p, seed=8)
    assert a.text == b.text
    assert a.text != c.text


def test_async_path_gives_the_sync_answer(tf_model: TransformersChatModel, greedy: Completion) -> None:
    out = asyncio.run(tf_model.agenerate(FRANCE, GREEDY))
    assert out.text == greedy.text
    assert out.usage == greedy.usage


def test_timeout_raises(tf_model: TransformersChatModel) -> None:
    with pytest.raises(BackendTimeout, match="did not finish"):
        tf_model.generate("Write a long story about a dragon.", temperature=0.0, max_tokens=200, timeout=0.05)


def test_oversized_prompt_is_a_clear_error(tf_model: TransformersChatModel) -> None:
    with pytest.raises(BackendResponseError, match="context window is 2048"):
        tf_model.generate("word " * 5000, max_tokens=8)


def test_generation_failure_is_a_backend_error_and_a_failed_call_event(
    tf_model: TransformersChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mock: running out of memory mid-generation cannot be caused on purpose here.
    def oom(**_: object) -> None:
        raise RuntimeError("out of memory allocating 4096 bytes")

    monkeypatch.setattr(tf_model.hf_model, "generate", oom)
    with record_calls() as events, pytest.raises(BackendResponseError, match="failed while generating"):
        with_role(tf_model, "target").generate(FRANCE, GREEDY)
    assert events[0].model == tf_model.name and events[0].error.startswith("BackendResponseError")


def test_pipeline_runs_on_the_transformers_backend(tf_model: TransformersChatModel) -> None:
    from lance import Lance
    from lance.assess.assessor import default_assessor

    settings = LanceSettings(backend={"kind": "transformers"})
    # The target is the model get_chat_model(settings.backend) built above (the pipeline would build the same).
    r = Lance(settings, assessor=default_assessor(), target=tf_model).respond(FRANCE, GREEDY)
    assert r.route == "pass"
    assert "paris" in r.response.lower()
    assert [(c.role, c.model, c.error) for c in r.calls] == [("target", tf_model.name, None)]
    assert r.usage.completion_tokens == r.calls[0].completion_tokens > 0


# --- bad paths: each fails before any weights load, naming the path


def test_missing_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelFileError, match=re.escape(f"not found: {missing}")):
        get_chat_model(BackendConfig(kind="transformers", model_path=missing))


def test_folder_without_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=re.escape(f"{tmp_path} is not a Hugging Face checkpoint folder")):
        get_chat_model(BackendConfig(kind="transformers", model_path=tmp_path))


def test_file_that_is_not_gguf_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(ModelFileError, match=re.escape(f"{bad} is not a GGUF file")):
        get_chat_model(BackendConfig(kind="transformers", model_path=bad))


# --- a checkpoint folder (config.json + model.safetensors + tokenizer), written from the embedded model


@pytest.fixture(scope="module")
def folders(tf_model: TransformersChatModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """``plain``: the tokenizer as the GGUF has it (no template); ``chat``: the same with CHAT_TEMPLATE.

    A GGUF-loaded model refuses ``save_pretrained``, so the weights are written with safetensors
    and the config without its GGUF quantisation entry: what ``save_pretrained`` would have written.
    """
    from safetensors.torch import save_model

    root = tmp_path_factory.mktemp("ckpt")
    plain, chat = root / "plain", root / "chat-ckpt"
    tok = tf_model.tokenizer
    tok.save_pretrained(plain)
    tf_model.hf_model.config.save_pretrained(plain)
    cfg = json.loads((plain / "config.json").read_text())
    cfg.pop("quantization_config", None)
    (plain / "config.json").write_text(json.dumps(cfg))
    shutil.copytree(plain, chat)
    save_model(tf_model.hf_model, str(chat / "model.safetensors"))
    tok.chat_template = CHAT_TEMPLATE
    try:
        tok.save_pretrained(chat)
    finally:
        tok.chat_template = None
    yield {"plain": plain, "chat": chat}
    shutil.rmtree(root)  # 1 GB of weights: not left for pytest's kept temporary folders


def test_checkpoint_folder_uses_its_chat_template(folders: dict[str, Path]) -> None:
    model = get_chat_model(BackendConfig(kind="transformers", model_path=folders["chat"]))
    try:
        assert isinstance(model, TransformersChatModel)
        assert model.name == "transformers/chat-ckpt" and model.prompt_format == "chat"
        out = model.generate(FRANCE, temperature=0.0, max_tokens=2)
        expected = f"<bos><start_of_turn>user\n{FRANCE}<end_of_turn>\n<start_of_turn>model\n"
        assert out.usage.prompt_tokens == len(model.tokenizer(expected, add_special_tokens=False).input_ids)
        assert 0 < out.usage.completion_tokens <= 2
    finally:
        model.close()


def test_chat_format_without_a_template_is_a_config_error(folders: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"tokenizer of {folders['plain']} has no chat template")):
        get_chat_model(BackendConfig(kind="transformers", model_path=folders["plain"], prompt_format="chat"))


def test_folder_with_corrupt_weights_is_named(folders: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(folders["plain"], broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelFileError, match=re.escape(f"could not load the model {broken}")):
        get_chat_model(BackendConfig(kind="transformers", model_path=broken))
