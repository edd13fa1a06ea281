"""The server's small parts on their own: config, parameter forwarding, SSE framing, admission."""

from __future__ import annotations

import asyncio
import json

import pytest

from lance.backends import GenerateParams
from lance.errors import BackendResponseError, BackendTimeout, BackendUnavailable, ConfigError, InputError
from lance.server.admission import Admission
from lance.server.app import request_params
from lance.config.server import ServerConfig, server_config
from lance.server.errors import APIError, from_lance_error
from lance.server.schemas import ChatCompletionRequest
from lance.server.stream import chunk_events, pieces


def test_config_keys_from_section_env_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANCE_API_KEYS", "sk-env-1, sk-env-2,")
    cfg = server_config({"api_keys": ["sk-file"], "port": 9000}, extra_keys=["sk-flag"], port=None, host="0.0.0.0")
    assert cfg.key_values() == ("sk-file", "sk-env-1", "sk-env-2", "sk-flag")
    assert cfg.port == 9000 and cfg.host == "0.0.0.0"
    assert "sk-env-1" not in repr(cfg)  # secrets stay out of logs


def test_config_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANCE_API_KEYS", raising=False)
    with pytest.raises(ConfigError, match=r"server\.max_queue"):
        server_config({"max_queue": -1})
    with pytest.raises(ConfigError, match=r"server\.bogus"):
        server_config({"bogus": 1})


def test_request_params_are_forwarded_over_the_targets_defaults() -> None:
    base = GenerateParams(temperature=0.7, max_tokens=256, seed=0)
    req = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.0, "max_tokens": 12, "stop": "END", "seed": 7, "top_p": 0.5}
    )
    p = request_params(req, base, ServerConfig())
    assert (p.temperature, p.max_tokens, p.stop, p.seed, p.top_p) == (0.0, 12, ("END",), 7, 0.5)
    # unset fields keep the target's defaults
    bare = ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    assert request_params(bare, base, ServerConfig()) == base


def test_max_tokens_cap_and_new_field_name() -> None:
    base = GenerateParams(max_tokens=256)
    req = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 500, "max_tokens": 900}
    )
    assert request_params(req, base, ServerConfig()).max_tokens == 500
    assert request_params(req, base, ServerConfig(max_tokens_cap=32)).max_tokens == 32


def test_developer_role_and_text_parts_become_plain_messages() -> None:
    req = ChatCompletionRequest.model_validate(
        {
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": None},
                {"role": "user", "content": "again"},
            ]
        }
    )
    msgs = req.to_messages()
    assert [(m.role, m.content) for m in msgs] == [
        ("system", "Be brief."),
        ("user", "Hello there"),
        ("assistant", ""),
        ("user", "again"),
    ]


@pytest.mark.parametrize("text", ["", "one", "  two  words ", "line\nbreak\n\nend.", "héllo wörld ✓"])
def test_stream_pieces_reassemble_exactly(text: str) -> None:
    assert "".join(pieces(text)) == text


def test_chunk_events_follow_openais_order() -> None:
    async def collect() -> list[bytes]:
        return [
            e
            async for e in chunk_events(
                completion_id="chatcmpl-1",
                created=1,
                model="m",
                text="Hi there.",
                finish_reason="stop",
                lance={"route": "pass"},
                usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                include_usage=True,
            )
        ]

    events = asyncio.run(collect())
    assert events[-1] == b"data: [DONE]\n\n"
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events)
    bodies = [json.loads(e[6:]) for e in events[:-1]]
    assert bodies[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(b["choices"][0]["delta"].get("content", "") for b in bodies if b["choices"]) == "Hi there."
    finish = bodies[-2]
    assert finish["choices"][0]["finish_reason"] == "stop" and finish["lance"] == {"route": "pass"}
    assert bodies[-1]["choices"] == [] and bodies[-1]["usage"]["total_tokens"] == 5
    assert all(b["object"] == "chat.completion.chunk" and b["id"] == "chatcmpl-1" for b in bodies)


def test_admission_queues_then_refuses() -> None:
    async def scenario() -> tuple[int, int]:
        adm = Admission(max_concurrency=1, max_queue=1)
        release = asyncio.Event()
        order: list[str] = []

        async def hold(name: str) -> None:
            async with adm.slot():
                order.append(name)
                await release.wait()

        first = asyncio.create_task(hold("a"))
        await asyncio.sleep(0)
        second = asyncio.create_task(hold("b"))  # waits in the queue
        await asyncio.sleep(0)
        with pytest.raises(APIError) as refused:
            async with adm.slot():
                pass
        assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
        running, waiting = adm.running, adm.waiting
        release.set()
        await asyncio.gather(first, second)
        assert order == ["a", "b"] and adm.running == adm.waiting == 0
        return running, waiting

    assert asyncio.run(scenario()) == (1, 1)


def test_admission_cancelled_waiter_frees_its_place() -> None:
    async def scenario() -> int:
        adm = Admission(max_concurrency=1, max_queue=1)
        gate = asyncio.Event()

        async def hold() -> None:
            async with adm.slot():
                await gate.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(hold())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        queued = adm.waiting
        gate.set()
        await holder
        return queued

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (BackendTimeout("slow at http://10.0.0.5:8000"), 504, "upstream_timeout"),
        (BackendUnavailable("cannot reach http://10.0.0.5:8000"), 502, "upstream_unavailable"),
        (BackendResponseError("garbage from http://10.0.0.5:8000"), 502, "upstream_bad_response"),
        (InputError("the prompt is empty"), 400, "invalid_value"),
    ],
)
def test_lance_errors_map_to_statuses_without_leaking_upstream_details(exc: Exception, status: int, code: str) -> None:
    err = from_lance_error(exc)  # type: ignore[arg-type]
    assert (err.status, err.detail.code) == (status, code)
    if status != 400:
        assert "10.0.0.5" not in err.detail.message
        assert "10.0.0.5" in from_lance_error(exc, debug=True).detail.message  # type: ignore[arg-type]
