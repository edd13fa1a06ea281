"""Offline quality measures on known inputs."""

from __future__ import annotations

import pytest

from lance.judges.quality import aggregate_quality, distinct_n, intent_preservation, offline_quality, template_ness


def test_distinct_n_known_values() -> None:
    assert distinct_n(["a b a b"], 1) == pytest.approx(2 / 4)
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)  # (a b), (b a), (a b)
    assert distinct_n(["I cannot help.", "I cannot help."], 1) == pytest.approx(4 / 8)
    assert distinct_n([], 2) == 0.0
    assert distinct_n(["one"], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n(["x"], 0)


def test_intent_preservation_prefers_on_topic_answers(encoder) -> None:  # noqa: ANN001
    prompt = "How do I repot a cactus without getting pricked?"
    on, off, refusal = intent_preservation(
        [prompt] * 3,
        [
            "Wrap the cactus in folded newspaper or wear thick gloves, tip the pot, and lift the plant into fresh gritty soil.",
            "The stock market rose two percent on Tuesday after strong earnings reports.",
            "I'm sorry, but I cannot help with that.",
        ],
        encoder,
    )
    assert on > refusal and on > off and on > 0.4


def test_template_ness_of_a_template_is_near_one(encoder) -> None:  # noqa: ANN001
    t, a = template_ness(["I cannot fulfill this request.", "Paris is the capital of France."], encoder)
    assert t > 0.95 and a < 0.4


def test_offline_quality_per_answer_and_aggregate(encoder) -> None:  # noqa: ANN001
    one = offline_quality("What is the capital of France?", "Paris is the capital of France.", encoder)
    assert set(one) == {"intent_preservation", "template_ness"}
    agg = aggregate_quality(["q1", "q2"], ["I cannot help.", "I cannot help."], encoder)
    assert agg["distinct_1"] == pytest.approx(0.5) and agg["template_ness"] > 0.7
    with pytest.raises(ValueError):
        intent_preservation(["a"], [], encoder)
