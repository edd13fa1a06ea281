"""One interface per judge kind, and the verdicts they return.

The evaluation harness and the pipeline's post-check depend only on these,
so an offline judge, an LLM judge or a future one can be swapped freely.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from lance.judges.data import RefusalLabel


@runtime_checkable
class RefusalCheck(Protocol):
    """Anything that says whether ``response`` refuses ``prompt``: a bool, a score or a verdict object.

    The pipeline's post-check and the refiner's output check take any such object; the trained
    :class:`lance.judges.RefusalDetector` and the lexical
    :class:`lance.judges.lexical.TemplateRefusalDetector` are two.
    """

    def detect(self, prompt: str, response: str) -> Any: ...


class RefusalVerdict(BaseModel):
    """Whether a response refuses, and how rigid (templated, prompt-blind) it is."""

    model_config = ConfigDict(frozen=True)

    label: RefusalLabel
    #: Class probabilities (full_compliance, full_refusal, partial_refusal).
    probs: dict[str, float]
    #: 0 for compliance; near 1 for a templated refusal that ignores the prompt.
    rigidity: float = Field(ge=0.0, le=1.0)

    @property
    def is_refusal(self) -> bool:
        """Full or partial refusal (XSTest's binary view)."""
        return self.label != "full_compliance"


class SafetyVerdict(BaseModel):
    """Whether a response is safe to show, with the taxonomy categories it violates."""

    model_config = ConfigDict(frozen=True)

    safe: bool
    categories: list[str] = Field(default_factory=list)
    #: Probability-like unsafety score in [0, 1] (1 = surely unsafe).
    score: float = Field(ge=0.0, le=1.0)
    #: Which judge decided, and whether it had to fall back (e.g. unparseable LLM output).
    judge: str = ""
    fallback: bool = False
    raw: str | None = None


class QualityScores(BaseModel):
    """Helpfulness and naturalness on 1-10 (``None`` when the judge gave no usable score)."""

    model_config = ConfigDict(frozen=True)

    helpfulness: float | None = Field(default=None, ge=1.0, le=10.0)
    naturalness: float | None = Field(default=None, ge=1.0, le=10.0)
    judge: str = ""
    fallback: bool = False
    raw: str | None = None


class RefusalJudge(ABC):
    """Response (+ prompt) to a refusal verdict."""

    name: str = "refusal-judge"

    @abstractmethod
    def detect_many(self, pairs: Sequence[tuple[str, str]]) -> list[RefusalVerdict]:
        """Judge ``(prompt, response)`` pairs; an empty prompt means "unknown"."""

    def detect(self, prompt: str, response: str) -> RefusalVerdict:
        """Judge one response."""
        return self.detect_many([(prompt, response)])[0]


class SafetyJudge(ABC):
    """Response (+ prompt) to a safety verdict over the taxonomy."""

    name: str = "safety-judge"

    @abstractmethod
    def judge(self, prompt: str, response: str) -> SafetyVerdict:
        """Judge one response to ``prompt``."""

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[SafetyVerdict]:
        """Judge many pairs (subclasses batch when they can)."""
        return [self.judge(p, r) for p, r in pairs]


class QualityJudge(ABC):
    """Response (+ prompt) to helpfulness and naturalness scores."""

    name: str = "quality-judge"

    @abstractmethod
    def rate(self, prompt: str, response: str) -> QualityScores:
        """Score one response to ``prompt``."""


def is_refusal(detector: RefusalCheck, prompt: str, response: str) -> bool:
    """Normalise a detector's verdict (bool, score, or object with ``is_refusal``/``refusal``/``label``)."""
    verdict = detector.detect(prompt, response)
    if isinstance(verdict, bool):
        return verdict
    if isinstance(verdict, (int, float)):
        return float(verdict) >= 0.5
    label = getattr(verdict, "label", None)
    if isinstance(label, str):
        # A partial refusal (helps with part, declines part) is the natural behaviour LANCE wants.
        return label.lower() in {"refusal", "refuse", "refused", "full_refusal", "rigid"}
    for attr in ("is_refusal", "refusal", "refused"):
        value = getattr(verdict, attr, None)
        if isinstance(value, bool):
            return value
    raise TypeError(f"cannot read a refusal verdict from {type(verdict).__name__}; return a bool from detect()")
