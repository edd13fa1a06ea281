"""The official ``openai`` client against the real proxy (real pipeline, embedded model), unchanged.

Benign prompts take the pass route: exactly one target call, whose parameters
and token usage the response must reflect.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from server_helpers import KEY, MAX_TOKENS, RecordingChatModel, ThreadServer

BENIGN = "What is the capital of France?"


@pytest.fixture(scope="module")
def client(lance_http: ThreadServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{lance_http.url}/v1", api_key=KEY, max_retries=0, timeout=300)


def test_non_streamed_completion(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="lance", messages=[{"role": "user", "content": BENIGN}], temperature=0)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.role == "assistant"
    assert isinstance(r.choices[0].message.content, str) and r.choices[0].message.content.strip()
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0
    lance = (r.model_extra or {})["lance"]
    assert lance["route"] == "pass" and lance["refined"] is False and lance["llm_calls"] == 1
    before = lance["distribution"]["before"]
    assert set(before) == {"distribution", "confidence", "top", "risk"}
    assert before["distribution"]["safe"] > 0.5 and lance["distribution"]["after"] is None
    assert "refined_prompt" not in lance and "gradients" not in lance and "trajectory" not in lance


def test_streamed_equals_non_streamed(client: openai.OpenAI) -> None:
    """Streaming and non-streaming share one code path: same text (greedy), same metadata."""
    msgs = [{"role": "user", "content": "Name three primary colors."}]
    plain = client.chat.completions.create(model="lance", messages=msgs, temperature=0, seed=3)
    chunks = list(
        client.chat.completions.create(
            model="lance", messages=msgs, temperature=0, seed=3, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0].choices[0].finish_reason == "stop"
    assert (finish[0].model_extra or {})["lance"]["route"] == (plain.model_extra or {})["lance"]["route"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens  # type: ignore[union-attr]
    assert len({c.id for c in chunks}) == 1


def test_async_client_concurrent_requests(lance_http: ThreadServer) -> None:
    async def both() -> list[str]:
        c = openai.AsyncOpenAI(base_url=f"{lance_http.url}/v1", api_key=KEY, max_retries=0, timeout=300)
        rs = await asyncio.gather(
            *(c.chat.completions.create(model="lance", messages=[{"role": "user", "content": q}], temperature=0)
              for q in ("What is the capital of Italy?", "What is the capital of Spain?"))
        )  # fmt: skip
        await c.close()
        return [r.choices[0].message.content or "" for r in rs]

    answers = asyncio.run(both())
    assert all(a.strip() for a in answers)


def test_models_endpoints(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert len(ids) == 1 and ids[0].startswith("lance/")
    assert client.models.retrieve(ids[0]).id == ids[0]


def test_wrong_key_raises_authentication_error(lance_http: ThreadServer) -> None:
    bad = openai.OpenAI(base_url=f"{lance_http.url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.chat.completions.create(model="lance", messages=[{"role": "user", "content": BENIGN}])
    assert err.value.status_code == 401
    assert err.value.code == "invalid_api_key"


def test_bad_request_raises_bad_request_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="lance", messages=[{"role": "tool", "content": "x", "tool_call_id": "1"}])
    assert err.value.param == "messages.0.role"


def test_parameters_reach_the_target_and_usage_is_the_targets(client: openai.OpenAI, recorder: RecordingChatModel) -> None:
    before = len(recorder.calls)
    r = client.chat.completions.create(
        model="lance",
        messages=[{"role": "user", "content": "Write a sentence about the sea."}],
        temperature=0.3,
        top_p=0.9,
        max_tokens=7,
        stop=["\n\n", "END"],
        seed=11,
    )
    calls = recorder.calls[before:]
    assert len(calls) == 1  # benign: the target only
    _, params, completion = calls[0]
    assert (params.temperature, params.top_p, params.max_tokens, params.stop, params.seed) == (
        0.3, 0.9, 7, ("\n\n", "END"), 11,
    )  # fmt: skip
    assert completion.usage.completion_tokens <= 7
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (
        completion.usage.prompt_tokens, completion.usage.completion_tokens,
    )  # fmt: skip


def test_max_tokens_is_capped_by_the_server(client: openai.OpenAI, recorder: RecordingChatModel) -> None:
    before = len(recorder.calls)
    client.chat.completions.create(model="lance", messages=[{"role": "user", "content": BENIGN}], max_tokens=5000)
    assert recorder.calls[before][1].max_tokens == MAX_TOKENS
