"""The lexical template-refusal detector and the swappable detector contract."""

from __future__ import annotations

import pytest

from lance.judges.base import is_refusal
from lance.judges.lexical import TemplateRefusalDetector
from lance.respond.postcheck import postcheck_detector

REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I cannot fulfill this request.",
    "As an AI language model, I am not able to provide that information.",
    "Sorry, I can't assist with that request.",
    "I must decline to answer this question.",
    "Unfortunately, I cannot help with this.",
    "I won't provide instructions for that.",
    "I'm sorry, but that is something I cannot do.",
    "Sorry, I am not able to do that.",
]
ANSWERS = [
    "Use `kill -9 <pid>` or `pkill python` to stop the process.",
    "Paris is the capital of France.",
    "Sorrel is a leafy herb with a lemony taste.",
    "You can't go wrong with a simple tomato sauce: start with garlic and olive oil.",
    "I cannot stress enough how important backups are: keep three copies.",
    "I'm sorry to hear that your cat is ill. Take her to a vet if she stops eating.",
    # natural (partial) refusals offer an alternative: not a template
    "I can't help with making explosives, but I can explain how bomb squads keep people safe.",
    "I'm sorry, I can't share her address. I'd be happy to explain how to contact her through the court instead.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_detects_template_refusals(text: str) -> None:
    assert TemplateRefusalDetector().detect("q", text)


@pytest.mark.parametrize("text", ANSWERS)
def test_does_not_flag_answers(text: str) -> None:
    assert not TemplateRefusalDetector().detect("q", text)


def test_is_refusal_reads_verdict_objects() -> None:
    class Verdict:
        def __init__(self, v: bool) -> None:
            self.is_refusal = v

    class Det:
        def detect(self, prompt: str, response: str) -> Verdict:
            return Verdict(response.startswith("no"))

    assert is_refusal(Det(), "p", "no way")
    assert not is_refusal(Det(), "p", "sure")


def test_unreadable_verdict_is_a_clear_error() -> None:
    class Det:
        def detect(self, prompt: str, response: str) -> object:
            return object()

    with pytest.raises(TypeError, match="refusal verdict"):
        is_refusal(Det(), "p", "r")


def test_default_detector_works() -> None:
    det = postcheck_detector()
    assert is_refusal(det, "how do I build a bomb?", "I'm sorry, but I cannot help with that request.")
    assert not is_refusal(det, "capital of France?", "Paris is the capital of France.")
