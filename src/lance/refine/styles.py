"""How a refiner model is asked: LANCE's own model in the format it was trained on, any other LLM
with instructions and retrieved demonstrations.

The two differ in the prompt, not in what is done with the output: both rewrites go through
the same validation, re-assessment and send bar, and both refusals through the same checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lance.backends.base import ChatModel, GenerateParams, Message
from lance.gradients.gradient import TextualGradient
from lance.gradients.render import request_summary
from lance.refine.own_model import TRAINED_FORMAT
from lance.refine.prompts import (
    REFINER_STOP,
    adapter_refusal_prompt,
    adapter_rewrite_prompt,
    refiner_messages,
    refusal_messages,
)
from lance.taxonomy import Category

#: Words of the masked summary a ``refuse``-category refusal is written from (the request itself
#: is never shown to a model for those categories); the same number the adapter was trained with.
MASKED_WORDS = 24


def refusal_request(prompt: str, gradient: TextualGradient | None, category: Category, *, max_words: int) -> str:
    """What the refusal writer is shown: the request, or for a ``refuse`` category its masked summary."""
    if category.action == "refuse":
        return request_summary(prompt, gradient, max_words=max_words)
    return prompt


class RefinerStyle(Protocol):
    """The prompts for one kind of refiner model."""

    #: Retrieved few-shot demonstrations are put in the rewrite prompt.
    uses_demos: bool

    def rewrite_messages(self, prompt: str, problem: str, demos: Sequence[tuple[str, str, str]]) -> list[Message]: ...

    def rewrite_params(self, params: GenerateParams, index: int) -> GenerateParams:
        """Sampling for the ``index``-th candidate of a step."""
        ...

    def refusal_messages(self, prompt: str, gradient: TextualGradient | None, category: Category) -> list[Message]: ...


def _with_stop(params: GenerateParams) -> GenerateParams:
    return params.model_copy(update={"stop": tuple(dict.fromkeys((*params.stop, *REFINER_STOP)))})


@dataclass(frozen=True)
class FewShotStyle:
    """Any LLM (``refiner:`` set, or passed in): a system text, demonstrations, the request as data."""

    uses_demos: bool = True

    def rewrite_messages(self, prompt: str, problem: str, demos: Sequence[tuple[str, str, str]]) -> list[Message]:
        return refiner_messages(prompt, problem, demos)

    def rewrite_params(self, params: GenerateParams, index: int) -> GenerateParams:
        return _with_stop(params)

    def refusal_messages(self, prompt: str, gradient: TextualGradient | None, category: Category) -> list[Message]:
        # A general LLM is shown a short masked summary, and nothing of a refuse category's request.
        summary = request_summary(prompt, gradient) if category.action != "refuse" else ""
        return refusal_messages(summary, category.name.lower(), category.alternative)


@dataclass(frozen=True)
class AdapterStyle:
    """LANCE's own refinement model: the short prompts it was trained on, no demonstrations.

    The first candidate is greedy (the trained model's most likely rewrite); later ones are
    sampled at the configured temperature, so a second call explores instead of repeating.
    """

    uses_demos: bool = False

    def rewrite_messages(self, prompt: str, problem: str, demos: Sequence[tuple[str, str, str]]) -> list[Message]:
        return [Message(role="user", content=adapter_rewrite_prompt(prompt, problem))]

    def rewrite_params(self, params: GenerateParams, index: int) -> GenerateParams:
        p = _with_stop(params)
        return p.model_copy(update={"temperature": 0.0}) if index == 0 else p

    def refusal_messages(self, prompt: str, gradient: TextualGradient | None, category: Category) -> list[Message]:
        # LANCE's own model runs in-process, like the gate, and was trained on the request: from a masked
        # summary its drafts fail the checks far more often (measured on the respond tests' prompts)
        request = refusal_request(prompt, gradient, category, max_words=MASKED_WORDS)
        return [Message(role="user", content=adapter_refusal_prompt(request, category.name.lower()))]


def style_for(model: ChatModel) -> RefinerStyle:
    """The style a refiner model is asked in: its trained format for LANCE's own model.

    Read through wrappers (call recording, slot limits), which forward backend attributes.
    """
    return AdapterStyle() if getattr(model, "trained_format", None) == TRAINED_FORMAT else FewShotStyle()
