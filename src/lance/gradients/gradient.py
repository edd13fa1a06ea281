"""The multi-directional textual gradient: one structured message per prompt.

TextGrad asks an LLM to criticise a variable; LANCE computes the critique
from the label-enhancement model instead (which spans drive which category)
and pairs it with the taxonomy's directive, so the backward pass costs no
LLM call. Each risk category above a threshold is one "direction".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Span(BaseModel):
    """A piece of the prompt that carries a category's risk."""

    model_config = ConfigDict(frozen=True)

    text: str
    #: Character offsets into the prompt (``prompt[start:end] == text``).
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    #: How much the category's mass falls when this span is removed (occlusion).
    score: float


class CategoryGradient(BaseModel):
    """One direction of the gradient: a category, its weight, where it sits, which way to move."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    #: The category's mass in the prompt's risk distribution.
    weight: float = Field(ge=0.0, le=1.0)
    #: Most influential spans first; may be empty when no single span explains the mass.
    spans: tuple[Span, ...] = ()
    #: The taxonomy's neutralisation directive for this category.
    directive: str
    #: Optional LLM-written critique (TextGrad-style), when ``pipeline.critique`` is on.
    critique: str | None = None


class TextualGradient(BaseModel):
    """All directions for one prompt, heaviest category first."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    #: Total unsafe mass of the prompt, ``1 - p(safe)``.
    risk: float = Field(ge=0.0, le=1.0)
    categories: tuple[CategoryGradient, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.categories

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def spans(self) -> list[str]:
        """Every span text across categories, without duplicates, in order."""
        seen: list[str] = []
        for c in self.categories:
            for s in c.spans:
                if s.text not in seen:
                    seen.append(s.text)
        return seen
