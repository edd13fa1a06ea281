"""The methods compared side by side, all on the same target model, each a chain of stages.

Every method answers one prompt through ``Method.arun(prompt, seed) -> MethodOutput``; its
LLM calls, tokens and latency come from the chain's call events, so cost is compared honestly.
The chains, top to bottom (stages from ``lance.respond.stages`` and ``lance.eval.baselines``):

- ``vanilla``          answer                                    (1 call)
- ``guard_block``      assess → block → answer                   (0 calls when blocked, else 1)
- ``safety_prompt``    answer with a safety system prompt        (1 call)
- ``self_refine``      answer → self-critique → revise           (3 calls; Madaan et al. 2023)
- ``textgrad``         textgrad (LLM loss → backward → update) → answer   (Yuksekgonul et al. 2024)
- ``single_direction`` the LANCE chain on a two-class view of the risk: the ablation of label enhancement
- ``lance``            the LANCE chain (``lance.respond.pipeline``)
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from lance.assess.distribution import Assessor
from lance.backends.base import ChatModel, GenerateParams, Usage
from lance.backends.events import total_usage, with_role
from lance.config import LanceSettings, PipelineConfig
from lance.errors import BackendError, InputError
from lance.eval.baselines import (
    BACKWARD_SYSTEM,
    CANNED_REFUSAL,
    CRITIQUE_TEMPLATE,
    LOSS_SYSTEM,
    REFINE_TEMPLATE,
    SAFETY_SYSTEM_PROMPT,
    UNSAFE,
    UPDATE_SYSTEM,
    Block,
    CollapsedAssessor,
    Revise,
    SelfCritique,
    TextGradRefine,
    collapsed_taxonomy,
)
from lance.respond.stages import Answer, Assess, Chain, Stage
from lance.respond.stages import start as start_state
from lance.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from lance.lance import Lance

METHODS: tuple[str, ...] = (
    "vanilla", "guard_block", "safety_prompt", "self_refine", "textgrad", "single_direction", "lance",
)


class MethodOutput(BaseModel):
    """One method's answer to one prompt, with its cost."""

    response: str
    calls: int = Field(ge=0)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = Field(ge=0.0)
    #: ``pass`` / ``neutralize`` / ``refuse`` / ``block`` where the method routes; else ``None``.
    route: str | None = None
    #: Method-specific facts (refined prompt, distributions, intermediate texts, errors).
    extra: dict[str, Any] = Field(default_factory=dict)


class Method(ABC):
    """A way of answering prompts with the shared target model."""

    name: str = ""

    @abstractmethod
    async def arun(self, prompt: str, seed: int | None = None) -> MethodOutput: ...

    def describe(self) -> dict[str, Any]:
        """Everything about this method that changes its answers (goes into the config hash)."""
        return {"name": self.name}


class EvalContext:
    """What the methods share: settings, one target model, params, and the LE assessor (lazy)."""

    def __init__(
        self,
        settings: LanceSettings,
        target: ChatModel,
        params: GenerateParams,
        *,
        assessor: Assessor | None = None,
        taxonomy: Taxonomy | None = None,
        refiner: ChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.target = target
        self.params = params
        self._assessor = assessor
        self._refiner = refiner
        self._owns_refiner = False
        self.taxonomy = taxonomy or load_taxonomy(settings.taxonomy)

    @property
    def refiner(self) -> ChatModel:
        """LANCE's refiner (``refiner:`` in the settings; ``null``: its own model), loaded once for all methods."""
        if self._refiner is None:
            from lance.refine.own_model import refiner_model

            self._refiner, self._owns_refiner = refiner_model(self.settings), True
        return self._refiner

    def close(self) -> None:
        if self._owns_refiner and self._refiner is not None:
            self._refiner.close()
        self._refiner, self._owns_refiner = None, False

    @property
    def assessor(self) -> Assessor:
        if self._assessor is None:
            from lance.assess.assessor import load_assessor

            self._assessor = load_assessor(self.settings, taxonomy=self.taxonomy)
        return self._assessor

    def seeded(self, seed: int | None) -> GenerateParams:
        return self.params if seed is None else self.params.model_copy(update={"seed": seed})

    def pipeline_config(self) -> PipelineConfig:
        return self.settings.pipeline

    def answer(self, system_prompt: str | None = None) -> Answer:
        """The target's answer stage; a failure propagates (the runner records the item as failed)."""
        return Answer(with_role(self.target, "target"), fail_safe=False, system_prompt=system_prompt)


class ChainMethod(Method):
    """A baseline: a named chain of stages over the shared target; ``describe`` is what changes its answers."""

    def __init__(self, ctx: EvalContext, name: str, stages: Sequence[Stage], describe: dict[str, Any] | None = None) -> None:
        self.ctx, self.name, self.chain = ctx, name, Chain(stages)
        self._describe = {"name": name} | (describe or {})

    def describe(self) -> dict[str, Any]:
        return self._describe

    async def arun(self, prompt: str, seed: int | None = None) -> MethodOutput:
        start = time.perf_counter()
        state = await self.chain.arun(start_state(prompt, self.ctx.seeded(seed)))
        extra = {k: v for k, v in state.extra.items() if k != "route"}
        return MethodOutput(
            response=state.response, calls=len(state.calls), usage=total_usage(state.calls),
            latency_s=time.perf_counter() - start, route=state.extra.get("route"), extra=extra,
        )


def vanilla(ctx: EvalContext) -> Method:
    return ChainMethod(ctx, "vanilla", [ctx.answer()])


def guard_block(ctx: EvalContext, threshold: float | None = None) -> Method:
    # default: block exactly what LANCE would not pass untouched (risk ≥ 1 − safe_threshold)
    t = threshold if threshold is not None else round(1.0 - ctx.pipeline_config().safe_threshold, 6)
    return ChainMethod(ctx, "guard_block", [Assess(ctx.assessor), Block(t), ctx.answer()],
                       {"threshold": t, "canned": CANNED_REFUSAL})


def safety_prompt(ctx: EvalContext, system_prompt: str = SAFETY_SYSTEM_PROMPT) -> Method:
    return ChainMethod(ctx, "safety_prompt", [ctx.answer(system_prompt=system_prompt)], {"system_prompt": system_prompt})


def self_refine(ctx: EvalContext) -> Method:
    target = with_role(ctx.target, "target")
    return ChainMethod(ctx, "self_refine", [ctx.answer(), SelfCritique(with_role(target, "critique")), Revise(target)],
                       {"critique": CRITIQUE_TEMPLATE, "refine": REFINE_TEMPLATE})


def textgrad(ctx: EvalContext, max_iters: int = 2) -> Method:
    tg = TextGradRefine(loss=with_role(ctx.target, "judge"), backward=with_role(ctx.target, "critique"),
                        update=with_role(ctx.target, "refiner"), max_iters=max_iters)
    return ChainMethod(ctx, "textgrad", [tg, ctx.answer()],
                       {"max_iters": max_iters, "loss": LOSS_SYSTEM, "backward": BACKWARD_SYSTEM, "update": UPDATE_SYSTEM})


class LancePipeline(Method):
    """The real LANCE pipeline (``Lance.arespond``) on the shared target, with the shared refiner."""

    name = "lance"

    def __init__(self, ctx: EvalContext, *, single_direction: bool = False) -> None:
        from lance.lance import Lance
        self.ctx = ctx
        self.single_direction = single_direction
        self.name = "single_direction" if single_direction else "lance"
        cfg = ctx.pipeline_config()
        taxonomy = ctx.taxonomy
        assessor: Assessor = ctx.assessor
        if single_direction:
            taxonomy = collapsed_taxonomy(taxonomy)
            assessor = CollapsedAssessor(assessor)
            # per-category settings name categories the binary view no longer has
            cfg = cfg.model_copy(update={"category_thresholds": {}, "actions": {}})
        self.config = cfg
        self.taxonomy = taxonomy
        encoder = getattr(ctx.assessor, "encoder", None)
        self.lance: Lance = Lance.from_settings(
            ctx.settings,
            assessor=assessor,
            target=ctx.target,
            refiner=ctx.refiner,
            encoder=encoder,
            taxonomy=taxonomy,
            config=cfg,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "refiner": getattr(self.ctx.refiner, "adapter_digest", None) or self.ctx.refiner.name,
            "pipeline": self.config.model_dump(mode="json"),
            "taxonomy": self.taxonomy.fingerprint(),
        }

    async def arun(self, prompt: str, seed: int | None = None) -> MethodOutput:
        """The pipeline's answer; a backend failure it absorbed is raised, so the item is an error, not a refusal.

        ``Lance`` turns a failed call into a safe fallback (a constructed refusal, a "not
        responding" message): right for users, wrong for a measurement, where it would read as
        over-refusal. The runner records the raised error and a rerun retries the item.
        """
        start = time.perf_counter()
        r = await self.lance.arespond(prompt, self.ctx.seeded(seed))
        if r.errors:
            cause = next((c.exception for c in r.calls if c.exception is not None), None)
            raise BackendError(f"{self.name} answered with a fallback after a backend failure: {'; '.join(r.errors)}") from cause
        return MethodOutput(
            response=r.response,
            calls=r.llm_calls,
            usage=r.usage,
            latency_s=time.perf_counter() - start,
            route=r.route,
            extra={
                "refined_prompt": r.refined_prompt,
                "distribution_after": dict(r.distribution_after.probs) if r.distribution_after else None,
                "gradient_directions": [c.id for g in r.gradients for c in g.categories],
                "reason": r.reason,
                "postcheck_refusal": r.postcheck_refusal,
                "refusal_by": r.refusal_by,
            },
        )


def parse_methods(spec: str | Sequence[str]) -> list[str]:
    """``all`` or a comma-separated list of method names, validated, in canonical order."""
    items = [spec] if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        names += [n.strip() for n in item.split(",") if n.strip()]
    if not names:
        raise InputError(f"no methods given; use 'all' or some of: {', '.join(METHODS)}")
    if "all" in names:
        return list(METHODS)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise InputError(f"unknown method(s) {', '.join(unknown)}; valid: all, {', '.join(METHODS)}")
    return [m for m in METHODS if m in names]


def build_method(name: str, ctx: EvalContext, *, guard_threshold: float | None = None) -> Method:
    """One method, bound to the shared context."""
    if name == "vanilla":
        return vanilla(ctx)
    if name == "guard_block":
        return guard_block(ctx, guard_threshold)
    if name == "safety_prompt":
        return safety_prompt(ctx)
    if name == "self_refine":
        return self_refine(ctx)
    if name == "textgrad":
        return textgrad(ctx)
    if name == "single_direction":
        return LancePipeline(ctx, single_direction=True)
    if name == "lance":
        return LancePipeline(ctx)
    raise InputError(f"unknown method {name!r}; valid: {', '.join(METHODS)}")
