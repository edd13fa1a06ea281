"""Reusing embeddings within a request and gating encodes across threads (real MiniLM)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from lance.embeddings import sharing
from lance.embeddings.sharing import reuse_embeddings, set_encode_slots, shared
from lance.errors import ConfigError


class Counting:
    """Wraps the real encoder and records the texts that reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.seen = inner, inner.name, []

    @shared
    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return self.inner.encode(list(texts))


@pytest.fixture(autouse=True)
def _no_gate() -> Any:
    yield
    set_encode_slots(None)


def test_outside_a_scope_every_call_encodes(encoder: Any) -> None:
    enc = Counting(encoder)
    enc.encode(["a cat", "a dog"])
    enc.encode(["a cat"])
    assert enc.seen == [["a cat", "a dog"], ["a cat"]]


def test_inside_a_scope_each_text_is_encoded_once_and_vectors_match(encoder: Any) -> None:
    enc = Counting(encoder)
    fresh = encoder.encode(["How do I bake bread?"])[0]
    with reuse_embeddings():
        first = enc.encode(["How do I bake bread?"])
        both = enc.encode(["Knead the dough.", "How do I bake bread?", "Knead the dough."])
    assert enc.seen == [["How do I bake bread?"], ["Knead the dough."]]
    np.testing.assert_array_equal(first[0], fresh)  # the first encode is exactly the unshared one
    np.testing.assert_array_equal(both[1], first[0])
    np.testing.assert_array_equal(both[0], both[2])
    assert both.dtype == np.float32 and both.shape == (3, encoder.dim)
    both[1] += 1.0  # the caller's copy; the stored vector is untouched
    with reuse_embeddings():
        again = enc.encode(["How do I bake bread?"])
    np.testing.assert_array_equal(again[0], fresh)


def test_scopes_do_not_leak_between_threads(encoder: Any) -> None:
    enc = Counting(encoder)
    with reuse_embeddings():
        enc.encode(["shared text"])
        other = threading.Thread(target=lambda: enc.encode(["shared text"]))  # a new thread: no scope
        other.start()
        other.join()
    assert enc.seen == [["shared text"], ["shared text"]]


def test_gate_bounds_concurrent_encodes() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    class Slow:
        name = "slow"

        @shared
        def encode(self, texts: list[str]) -> np.ndarray:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return np.zeros((len(texts), 2), dtype=np.float32)

    def burst() -> int:
        peak[0] = 0
        threads = [threading.Thread(target=Slow().encode, args=(["x"],)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return peak[0]

    assert burst() > 1  # no gate: the threads overlap
    set_encode_slots(1)
    assert sharing.encode_slots() == 1
    assert burst() == 1
    set_encode_slots(2)
    assert burst() == 2


def test_bad_slot_count_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        set_encode_slots(0)
