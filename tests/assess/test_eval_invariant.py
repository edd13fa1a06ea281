"""Reading the whole input changes nothing for the evaluation's prompts that the encoder reads whole.

Every prompt of ``lance eval`` on XSTest (all 450) and on ``harmful --limit 200`` is assessed and
routed by the real stages with the whole-input assessor (window gate on) and with the opening-only
reading, which is what ``assess`` did before whole-input reading. They must agree to 1e-6 and
route alike; only a prompt longer than the encoder reads may differ (nine HarmBench contextual
behaviours in the harmful sample, listed in docs/pipeline.md).
"""

from __future__ import annotations

import pytest

from lance.assess import LabelEnhancementAssessor, load_assessor
from lance.config import LanceSettings
from lance.config.pipeline import PipelineConfig
from lance.eval.items import load_items
from lance.respond.stages import Assess, RouteStage, start
from lance.taxonomy import load_taxonomy


def _assess_and_route(assessor, text: str):
    """One prompt through the real assess and route stages, one at a time as ``lance eval`` runs it
    (a batch of many prompts moves the masses by ~1e-6 whatever the reading: padding)."""
    state = start(text)
    Assess(assessor).run(state)
    RouteStage(load_taxonomy(), PipelineConfig()).run(state)
    return state.dist, state.route


@pytest.mark.slow
def test_the_evaluation_prompts_are_assessed_and_routed_as_before(encoder) -> None:
    whole = load_assessor(LanceSettings())
    assert whole.window_gate is not None
    opening = LabelEnhancementAssessor(whole.encoder, whole.checkpoint, whole=False)
    items = load_items("xstest") + load_items("harmful", limit=200)
    assert len(items) == 650
    changed, longer = set(), set()
    for r in items:
        (a, ra), (b, rb) = _assess_and_route(whole, r.text), _assess_and_route(opening, r.text)
        if b.truncated or len(whole.readings(r.text)) > 1:
            longer.add(r.id)
        if any(abs(a.probs[k] - b.probs[k]) > 1e-6 for k in b.probs) or ra != rb:
            changed.add(r.id)
    assert changed <= longer, sorted(changed - longer)
    assert all(i.startswith("harmbench:") for i in longer), sorted(longer)
