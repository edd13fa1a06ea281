"""Routing rules on explicit distributions (the inputs routing sees; no model needed)."""

from __future__ import annotations

import pytest

from lance.assess.distribution import RiskDistribution
from lance.config.pipeline import PipelineConfig, load_pipeline_config
from lance.assess.routing import decide_route
from lance.errors import ConfigError
from lance.taxonomy import load_taxonomy

TAX = load_taxonomy()


def dist(**mass: float) -> RiskDistribution:
    rest = 1.0 - sum(mass.values())
    probs = {c: 0.0 for c in TAX.ids}
    probs.update(mass)
    probs["safe"] = probs.get("safe", 0.0) + rest
    return RiskDistribution(text="x", probs=probs, confidence=5.0)


def test_benign_passes() -> None:
    assert decide_route(dist(S2=0.2, S9=0.1), TAX, PipelineConfig()).route == "pass"


def test_risky_is_neutralized_with_driving_categories() -> None:
    d = decide_route(dist(S9=0.5, S1=0.2), TAX, PipelineConfig())
    assert d.route == "neutralize"
    assert d.categories[0] == "S9"


def test_refuse_category_as_top_risk_refuses() -> None:
    d = decide_route(dist(S4=0.4, S12=0.3), TAX, PipelineConfig())
    assert d.route == "refuse" and d.categories == ["S4"]


def test_refuse_category_threshold_refuses_even_when_mostly_safe() -> None:
    cfg = PipelineConfig(category_thresholds={"S4": 0.15})
    assert decide_route(dist(S4=0.2), TAX, cfg).route == "refuse"
    assert decide_route(dist(S4=0.2), TAX, PipelineConfig()).route == "pass"


def test_category_threshold_forces_neutralize_above_safe_threshold() -> None:
    cfg = PipelineConfig(safe_threshold=0.3, category_thresholds={"S11": 0.25})
    assert decide_route(dist(S11=0.3), TAX, cfg).route == "neutralize"


def test_action_override_to_pass_counts_that_mass_as_safe() -> None:
    cfg = PipelineConfig(actions={"S6": "pass"})
    assert decide_route(dist(S6=0.7), TAX, PipelineConfig()).route == "neutralize"
    assert decide_route(dist(S6=0.7), TAX, cfg).route == "pass"


def test_action_override_to_refuse() -> None:
    cfg = PipelineConfig(actions={"S9": "refuse"})
    assert decide_route(dist(S9=0.7), TAX, cfg).route == "refuse"


def test_bad_pipeline_config_is_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match=r"pipeline\.safe_threshold"):
        load_pipeline_config({"safe_threshold": 2})
    with pytest.raises(ConfigError, match=r"pipeline\.nonsense"):
        load_pipeline_config({"nonsense": 1})


def spread(p_safe: float, **extra: float) -> RiskDistribution:
    """Risk spread evenly over every category (the gate sure of harm, unsure where), plus ``extra``."""
    risk = (1.0 - p_safe - sum(extra.values())) / len(TAX.risk_ids)
    return dist(**{c: risk + extra.get(c, 0.0) for c in TAX.risk_ids})


def test_an_evenly_spread_risk_names_no_category_and_refuses_on_no_refuse_category() -> None:
    d = spread(0.03, S4=0.005)  # S4 the heaviest, by a hair
    assert d.top_risks(1)[0][0] == "S4"
    decision = decide_route(d, TAX, PipelineConfig())
    assert decision.route == "neutralize" and decision.categories == []
    placed = spread(0.03, S4=0.3)
    assert decide_route(placed, TAX, PipelineConfig()).route == "refuse"


def test_a_refusal_names_the_heaviest_category_only_when_it_is_placed() -> None:
    assert spread(0.03, S4=0.005).named_category() == []  # heaviest by a hair: no evidence
    assert spread(0.03, S4=0.3).named_category() == ["S4"]
