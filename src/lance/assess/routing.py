"""Routing policy: pass, neutralise or refuse, from the distribution, the taxonomy's actions and the config.

It reads only the assessment, so the refiner can use it as its stopping rule and the respond
stage to route.

Rules, in order:

1. refuse   — a ``refuse`` category (e.g. S4) is the top risk, holding at least ``PLACED_SHARE`` of
              the risk, with p(safe) below ``safe_threshold``, or its mass reaches its threshold
              (``category_thresholds`` or ``refuse_threshold``).
2. neutralize — a ``neutralize`` category's mass reaches its own threshold
              (``category_thresholds`` or ``default_category_threshold``), whatever p(safe) is.
3. pass     — p(safe) plus the mass of categories whose action is ``pass`` reaches ``safe_threshold``.
4. neutralize — everything else.
"""

from __future__ import annotations

from pydantic import BaseModel

from lance.assess.distribution import RiskDistribution
from lance.config.pipeline import PipelineConfig, Route
from lance.taxonomy import SAFE, Action, Taxonomy


class RouteDecision(BaseModel):
    """The route and the categories (and words) that decided it."""

    route: Route
    reason: str
    #: Risk categories that drove the decision, heaviest first.
    categories: list[str] = []


def action_of(cid: str, taxonomy: Taxonomy, config: PipelineConfig) -> Action:
    return config.actions.get(cid, taxonomy[cid].action)


def decide_route(dist: RiskDistribution, taxonomy: Taxonomy, config: PipelineConfig) -> RouteDecision:
    """Apply the routing rules above to one distribution."""
    risks = [(c, p) for c, p in sorted(dist.probs.items(), key=lambda cp: -cp[1]) if c != SAFE and c in taxonomy.ids]
    top = risks[0] if risks else None
    refusers = [(c, p) for c, p in risks if action_of(c, taxonomy, config) == "refuse"]
    for c, p in refusers:
        limit = config.category_thresholds.get(c, config.refuse_threshold)
        is_top = top is not None and c == top[0] and dist.p_safe < config.safe_threshold and bool(dist.placed([c]))
        if p >= limit or is_top:
            why = f"{c} ({taxonomy[c].name}) mass {p:.2f}" + (" is the top risk" if is_top and p < limit else f" ≥ {limit:.2f}")
            return RouteDecision(route="refuse", reason=why + f"; action refuse", categories=[c])
    forced = [
        (c, p) for c, p in risks if action_of(c, taxonomy, config) == "neutralize" and p >= config.threshold_for(c)
    ]
    if forced:
        names = ", ".join(f"{c} {p:.2f}" for c, p in forced)
        return RouteDecision(route="neutralize", reason=f"category threshold reached: {names}", categories=[c for c, _ in forced])
    passing = sum(p for c, p in risks if action_of(c, taxonomy, config) == "pass")
    if dist.p_safe + passing >= config.safe_threshold:
        extra = f" (+{passing:.2f} in pass-action categories)" if passing > 0 else ""
        return RouteDecision(route="pass", reason=f"p(safe) {dist.p_safe:.2f}{extra} ≥ {config.safe_threshold:.2f}")
    active = [c for c, p in risks if p >= config.gradient_threshold and action_of(c, taxonomy, config) != "pass"]
    return RouteDecision(
        route="neutralize",
        reason=f"p(safe) {dist.p_safe:.2f} < {config.safe_threshold:.2f}",
        # only categories that hold a real share of the risk: an evenly spread risk names none
        categories=dist.placed(active or ([top[0]] if top else [])),
    )
