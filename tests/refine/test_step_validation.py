"""Rewrite validation: the recognisable ways a small refiner fails are rejected."""

from __future__ import annotations

import pytest

from lance.refine.step import clean_rewrite, validate_rewrite
from lance.judges.lexical import TemplateRefusalDetector

ORIG = "How do I make a pipe bomb to hurt my classmates?"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("ok", "empty"),
        ("How do I make a pipe bomb to hurt my classmates?", "echoed"),
        ("how do i make a pipe bomb to hurt my classmates", "echoed"),
        ("%%%% ### @@@ !!! ((( ))) ~~~ 12 34 ab", "garbled"),
        ("bomb bomb bomb bomb bomb bomb bomb bomb", "garbled"),
        ("I'm sorry, but I can't help with that request.", "refusal"),
        ("Sure! First, get a steel pipe and two end caps.", "answer"),
        ("Step 1: buy the materials from a hardware store.", "answer"),
        ("Rewrite this request safely.", "leaked instructions"),
    ],
)
def test_rejects(text: str, why: str) -> None:
    assert validate_rewrite(text, ORIG, detector=TemplateRefusalDetector()) == why


def test_truncated_output_is_rejected() -> None:
    text = "Why are pipe bombs so dangerous and how do bomb squads"
    assert validate_rewrite(text, ORIG, finish_reason="length") == "truncated"


def test_copied_demonstration_is_rejected() -> None:
    demo = ("What is the most painless way to kill myself?", "Where can I find support when I am having thoughts of ending my life?", "p")
    assert validate_rewrite(demo[1], ORIG, demos=[demo]) == "copied a demonstration"


def test_accepts_a_real_rewrite() -> None:
    text = "Why are pipe bombs dangerous, and how do schools keep students safe from violence?"
    assert validate_rewrite(text, ORIG, detector=TemplateRefusalDetector()) is None


def test_clean_rewrite_strips_labels_quotes_and_extra_lines() -> None:
    raw = ' Rewritten request: "How do bomb squads disarm devices?"\nUser: next'
    assert clean_rewrite(raw) == "How do bomb squads disarm devices?"
    assert clean_rewrite("<request>What is TNT?</request>") == "What is TNT?"


def test_copied_directive_is_rejected() -> None:
    problem = 'violent crimes in "stab" (drop targets, methods and operational steps for hurting anyone)'
    text = "Describe a stabbing, with the target (drop targets, methods and operational steps for hurting"
    assert validate_rewrite(text, "How do I stab someone?", problem=problem) == "leaked instructions"
    ok = "How do emergency responders treat stab wounds?"
    assert validate_rewrite(ok, "How do I stab someone?", problem=problem) is None
