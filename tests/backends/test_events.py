"""Every LLM call is an event: recorded with its role on success and on a real failure."""

from __future__ import annotations

import asyncio
import socket

import pytest

from lance.backends.base import ChatModel, GenerateParams
from lance.backends.events import RecordedChatModel, final_failure, record_calls, total_usage, with_role
from lance.backends.openai_compat import OpenAICompatChatModel
from lance.errors import BackendError

P = GenerateParams(temperature=0.0, max_tokens=6, seed=0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_calls_are_recorded_with_role_tokens_and_latency(embedded_model: ChatModel) -> None:
    target, refiner = with_role(embedded_model, "target"), with_role(embedded_model, "refiner")
    with record_calls() as events:
        a = target.generate("What is the capital of France?", P)
        b = asyncio.run(refiner.agenerate("Name a colour.", P))
    assert [e.role for e in events] == ["target", "refiner"]
    assert events[0].completion_tokens == a.usage.completion_tokens and events[1].prompt_tokens == b.usage.prompt_tokens
    assert total_usage(events) == a.usage + b.usage
    assert all(e.latency_s > 0 and e.error is None and e.model == embedded_model.name for e in events)
    assert final_failure(events) is None


def test_a_refused_connection_is_an_event_with_its_error(embedded_model: ChatModel) -> None:
    down = with_role(OpenAICompatChatModel(f"http://127.0.0.1:{_closed_port()}/v1", "m", max_retries=0, timeout=5), "target")
    ok = with_role(embedded_model, "refiner")
    with record_calls() as events:
        ok.generate("Say hi.", P)
        with pytest.raises(BackendError) as info:
            down.generate("Say hi.", P)
    assert [e.role for e in events] == ["refiner", "target"]
    assert events[1].error and events[1].error.startswith(type(info.value).__name__)
    assert final_failure(events) is info.value  # the proxy maps this one to 502/504


def test_nested_scopes_hand_their_calls_to_the_outer_one(embedded_model: ChatModel) -> None:
    m = with_role(embedded_model, "judge")
    with record_calls() as outer:
        m.generate("One.", P)
        with record_calls() as inner:
            m.generate("Two.", P)
        assert len(inner) == 1
    assert len(outer) == 2
    with record_calls() as fresh:
        pass
    assert fresh == []  # calls outside any scope are not kept anywhere


def test_with_role_rewraps_instead_of_stacking(embedded_model: ChatModel) -> None:
    a = with_role(embedded_model, "target")
    b = with_role(a, "critique")
    assert isinstance(b, RecordedChatModel) and b.inner is embedded_model and b.role == "critique"
    with record_calls() as events:
        b.generate("Hello.", P)
    assert [e.role for e in events] == ["critique"]  # one event, not one per wrapper
