"""The refiner-slot limit: at most N calls in flight, answers unchanged, a clear timeout."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lance.backends.base import ChatModel, Completion, GenerateParams, Message
from lance.errors import BackendTimeout
from lance.backends.slots import SlotLimitedChatModel


class InFlightCounter(ChatModel):
    """Instrumentation around the real embedded model: counts calls running at the same time."""

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = inner.name
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return self.inner.generate(messages, params)
        finally:
            with self._lock:
                self.now -= 1


def _ask(model: ChatModel, i: int) -> str:
    return model.generate(f"Name one colour. ({i})", max_tokens=4, seed=i, temperature=0.0).text


@pytest.mark.parametrize("slots", [1, 2])
def test_at_most_n_calls_in_flight_with_real_model(embedded_model: Any, slots: int) -> None:
    bare = [_ask(embedded_model, i) for i in range(6)]
    counter = InFlightCounter(embedded_model)
    limited = SlotLimitedChatModel(counter, slots)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda i: _ask(limited, i), range(6)))
    # exactly ``slots``: never more, and not fewer either (a limiter that serialises everything
    # would also keep below the limit, and waste the slots it was given)
    assert counter.peak == slots
    # the wrapper changes scheduling, not answers: same seed, same text as the bare model, call by call
    assert answers == bare


def test_no_free_slot_within_the_wait_is_a_backend_timeout(embedded_model: Any) -> None:
    limited = SlotLimitedChatModel(embedded_model, 1, wait_timeout=0.2)
    limited._sem.acquire()  # another request holds the only slot
    try:
        with pytest.raises(BackendTimeout, match="no refiner slot"):
            _ask(limited, 0)
    finally:
        limited._sem.release()
    assert _ask(limited, 0)  # free again: the call goes through


def test_slots_must_be_positive(embedded_model: Any) -> None:
    with pytest.raises(ValueError):
        SlotLimitedChatModel(embedded_model, 0)


def test_refiner_call_waits_for_a_running_target_call(embedded_model: Any) -> None:
    """A rewrite that arrives while a target call runs starts only after it (real model)."""
    from lance.backends.slots import TargetTracker, TrackedChatModel

    tracker = TargetTracker()
    target = TrackedChatModel(embedded_model, tracker)
    refiner = SlotLimitedChatModel(embedded_model, 1, yield_to=tracker, max_defer=60.0)
    target_done = threading.Event()

    def long_target() -> None:
        target.generate("Write a short story about a cat.", max_tokens=48, seed=1, temperature=0.0)
        target_done.set()

    t = threading.Thread(target=long_target)
    t.start()
    while tracker.pending == 0 and not target_done.is_set():  # the target call has begun
        pass
    _ask(refiner, 0)
    assert target_done.is_set(), "the refiner call ran while a target call was pending"
    assert refiner.deferred_s > 0.05  # it waited for the target, not just for a model lock
    t.join()
    assert tracker.pending == 0


def test_deferral_is_bounded_so_rewrites_never_starve(embedded_model: Any) -> None:
    from lance.backends.slots import TargetTracker

    tracker = TargetTracker()
    refiner = SlotLimitedChatModel(embedded_model, 1, yield_to=tracker, max_defer=0.3)
    with tracker.call():  # a target call that never ends while the rewrite waits
        assert _ask(refiner, 0)
    assert 0.25 <= refiner.deferred_s < 5.0
