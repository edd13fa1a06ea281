"""The record of a refinement: every step's prompt, distribution, gradient and verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from lance.assess.distribution import RiskDistribution
from lance.backends.base import Usage
from lance.gradients.gradient import TextualGradient

#: ``start``: the original prompt; ``accepted``: a rewrite that lowered risk and kept meaning;
#: ``rejected``: every candidate failed (see ``reason``); ``error``: the refiner backend failed.
Verdict = Literal["start", "accepted", "rejected", "error"]


class Candidate(BaseModel):
    """One sampled rewrite and why it was (not) chosen."""

    text: str
    #: ``None`` when the text was valid; otherwise why it was thrown out (empty, echoed, ...).
    invalid: str | None = None
    risk: float | None = None
    p_safe: float | None = None
    similarity: float | None = None


class Step(BaseModel):
    """One refinement step (index 0 is the original prompt)."""

    index: int = Field(ge=0)
    #: The prompt this step produced (the chosen candidate, or the unchanged prompt when rejected).
    prompt: str
    distribution: RiskDistribution
    #: The gradient the refiner was given at this step (``None`` on the start step).
    gradient: TextualGradient | None = None
    verdict: Verdict
    reason: str = ""
    #: Similarity of ``prompt`` to the original prompt (1.0 on the start step).
    similarity: float = 1.0
    candidates: list[Candidate] = Field(default_factory=list)
    llm_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0


class Trajectory(BaseModel):
    """The whole refinement; ``steps[0]`` is the original prompt."""

    version: int = 1
    steps: list[Step] = Field(default_factory=list)
    #: Why the loop stopped: ``target_reached``, ``max_steps``, ``max_calls``, ``no_progress``, ``error``.
    stopped: str = ""
    #: The backend error that ended the loop, if any (also logged).
    error: str = ""

    def append_steps(self, other: Trajectory) -> None:
        """Continue with ``other``'s steps after its start step, numbered on from these."""
        n = len(self.steps)
        self.steps += [s.model_copy(update={"index": n + i}) for i, s in enumerate(other.steps[1:])]

    @property
    def accepted(self) -> Step | None:
        """The last accepted step, i.e. the refined prompt to answer; ``None`` if none was."""
        for s in reversed(self.steps):
            if s.verdict == "accepted":
                return s
        return None

    @property
    def llm_calls(self) -> int:
        return sum(s.llm_calls for s in self.steps)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for s in self.steps:
            total = total + s.usage
        return total
