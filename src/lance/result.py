"""What ``Lance.refine`` and ``Lance.respond`` return: versioned, serialisable records."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from lance.assess.distribution import RiskDistribution
from lance.backends.base import Usage
from lance.backends.events import CallEvent
from lance.config.pipeline import Route
from lance.gradients.gradient import TextualGradient
from lance.refine.trajectory import Trajectory

#: Who wrote a natural refusal: the refiner model, or the constructed fallback (no model, or its draft failed the checks).
RefusalBy = Literal["model", "constructed"]


class RefineResult(BaseModel):
    """The outcome of refining one prompt (no target call)."""

    version: int = 1
    #: The prompt as given (the last user turn for a conversation).
    prompt: str
    #: The accepted rewrite; ``None`` when no candidate lowered the risk with meaning kept.
    refined_prompt: str | None = None
    distribution_before: RiskDistribution
    #: Risk of ``refined_prompt`` (of the original when nothing was accepted).
    distribution_after: RiskDistribution
    gradients: list[TextualGradient] = Field(default_factory=list)
    trajectory: Trajectory = Field(default_factory=Trajectory)
    llm_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.refined_prompt is not None


class LanceResult(BaseModel):
    """The outcome of ``Lance.respond``: the answer plus everything needed to audit it."""

    version: int = 1
    #: What the user sees: the target's answer, or a natural refusal.
    response: str
    route: Route
    #: The assessed text: the prompt, or the last user turn of a conversation.
    prompt: str
    #: The prompt the target actually answered; ``None`` on the refuse route.
    refined_prompt: str | None = None
    distribution_before: RiskDistribution
    #: Risk of what reached the target (equal to ``distribution_before`` on the pass route).
    distribution_after: RiskDistribution | None = None
    gradients: list[TextualGradient] = Field(default_factory=list)
    trajectory: Trajectory | None = None
    #: How many LLM calls were made (refiner, critique, target, refusal writer): ``len(calls)``.
    llm_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    #: Why the route was taken, in words (e.g. "S9 mass 0.62 ≥ 0.50; refinement accepted at step 1").
    reason: str = ""
    #: True when the post-check found a template refusal in the first answer.
    postcheck_refusal: bool = False
    #: Risk of the answer itself, when ``pipeline.assess_answer`` is on.
    answer_distribution: RiskDistribution | None = None
    #: Backend failures that were absorbed into a safe refusal (also logged).
    errors: list[str] = Field(default_factory=list)
    #: Every LLM call, in order, with its role, tokens, latency and error.
    calls: list[CallEvent] = Field(default_factory=list)
    #: On the refuse route: who wrote the refusal.
    refusal_by: RefusalBy | None = None
    #: Wall seconds per stage that ran (``assess``, ``neutralize``, ``answer``, ...), by stage name.
    timings: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stable scripting contract of ``lance respond --json``; distributions in ``lance assess`` shape."""
        return {
            "response": self.response,
            "route": self.route,
            "prompt": self.prompt,
            "refined_prompt": self.refined_prompt,
            "distribution_before": self.distribution_before.to_json(),
            "distribution_after": self.distribution_after.to_json() if self.distribution_after else None,
            "gradients": [g.model_dump(mode="json") for g in self.gradients],
            "llm_calls": self.llm_calls,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
            "latency_s": round(self.latency_s, 4),
            "reason": self.reason,
            "postcheck_refusal": self.postcheck_refusal,
            "errors": list(self.errors),
            "refusal_by": self.refusal_by,
            "calls": [c.model_dump(mode="json") for c in self.calls],
        }
