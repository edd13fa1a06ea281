"""``PipelineConfig``: the ``pipeline:`` section of the settings, validated.

Usage::

    pipeline:
      safe_threshold: 0.5          # p(safe) at or above which a prompt passes untouched
      category_thresholds: {S4: 0.2}   # a category at or above its threshold forces its action
      actions: {S6: pass}          # override the taxonomy's action per category
      max_steps: 2
      candidates: 2
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lance.errors import ConfigError

#: What the pipeline does with a prompt whose risk falls in a category.
Action = Literal["pass", "neutralize", "refuse"]
#: The route a request took: ``pass`` answered untouched, ``neutralize`` refined then answered,
#: ``refuse`` a natural refusal.
Route = Literal["pass", "neutralize", "refuse"]


class PipelineConfig(BaseModel):
    """Routing thresholds, gradient and refinement limits. Every field has a measured default."""

    model_config = ConfigDict(extra="forbid")

    # --- routing
    #: p(safe) at or above which a prompt is passed to the target untouched.
    safe_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Per-category mass at or above which that category alone decides the route (its action),
    #: even when p(safe) is above ``safe_threshold``. Unlisted categories use ``default_category_threshold``.
    category_thresholds: dict[str, float] = Field(default_factory=dict)
    default_category_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    #: Mass a ``refuse`` category needs (beyond being the top risk) to trigger a refusal.
    refuse_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
    #: Per-category action overrides (``pass`` / ``neutralize`` / ``refuse``), on top of the taxonomy.
    actions: dict[str, Action] = Field(default_factory=dict)

    # --- gradients
    #: A category gets a gradient direction when its mass is at least this.
    gradient_threshold: float = Field(default=0.1, ge=0.0, le=1.0)
    #: At most this many categories and spans per category in a gradient.
    max_directions: int = Field(default=3, ge=1)
    max_spans: int = Field(default=3, ge=0)
    #: Longest phrase (in words) tried by occlusion.
    max_span_words: int = Field(default=3, ge=1)
    #: Ask the refiner LLM for a TextGrad-style critique per category (one extra call each).
    critique: bool = False

    # --- refinement
    #: Stop refining when p(safe) reaches this.
    target_safe: float = Field(default=0.5, ge=0.0, le=1.0)
    max_steps: int = Field(default=1, ge=0)
    #: Rewrites sampled per step (each one refiner call); the assessor picks the best.
    candidates: int = Field(default=2, ge=1)
    #: Hard cap on refiner calls per prompt (all steps together).
    max_refiner_calls: int = Field(default=4, ge=0)
    #: Minimum embedding cosine similarity of a rewrite to the original prompt.
    similarity_floor: float = Field(default=0.5, ge=-1.0, le=1.0)
    #: Minimum drop in risk for a rewrite to count as progress.
    min_risk_drop: float = Field(default=0.05, ge=0.0, le=1.0)
    #: A refined prompt is answered only if it routes ``pass`` and its p(safe) reaches this
    #: (``None``: ``safe_threshold``, the bar an unrefined prompt meets); otherwise a natural refusal.
    send_min_safe: float | None = Field(default=None, ge=0.0, le=1.0)
    refiner_temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    refiner_max_tokens: int = Field(default=80, ge=8)
    #: Few-shot rewrite demonstrations retrieved per refiner call.
    fewshot_k: int = Field(default=3, ge=0)
    #: Public rewrite pairs (data/ibm_cast) added to the built-in demonstrations; 0 uses only the built-in ones.
    fewshot_data_pairs: int = Field(default=300, ge=0)

    # --- respond
    #: Run the post-check on the target's answer and retry once on a template refusal.
    postcheck: bool = True
    #: Assess the answer's own risk with the label-enhancement model (cheap, no LLM call).
    assess_answer: bool = False
    #: With ``assess_answer``: an answer whose p(safe) is below this is replaced by a natural refusal.
    answer_min_safe: float = Field(default=0.2, ge=0.0, le=1.0)
    #: Let the LLM write the natural refusal (one call); otherwise it is constructed.
    llm_refusal: bool = True
    #: Timeout in seconds for each LLM call made by the pipeline (``None``: the backend's own).
    call_timeout: float | None = Field(default=None, gt=0)

    @property
    def send_floor(self) -> float:
        return self.safe_threshold if self.send_min_safe is None else self.send_min_safe

    def threshold_for(self, cid: str) -> float:
        return self.category_thresholds.get(cid, self.default_category_threshold)


def load_pipeline_config(section: PipelineConfig | dict[str, Any] | None) -> PipelineConfig:
    """Validate ``settings.pipeline``; a bad key or value is one ``ConfigError`` line."""
    if isinstance(section, PipelineConfig):
        return section
    try:
        return PipelineConfig.model_validate(section or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ConfigError(f"invalid setting pipeline.{loc}: {first['msg']}") from None
