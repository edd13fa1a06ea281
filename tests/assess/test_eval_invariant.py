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
from lance.respond.stages import RouteStage, start
from lance.taxonomy import load_taxonomy


def _routes(dists, texts) -> list[str]:
    stage = RouteStage(load_taxonomy(), PipelineConfig())
    out = []
    for text, dist in zip(texts, dists):
        state = start(text)
        state.dist = dist
        stage.run(state)
        out.append(state.route)
    return out


@pytest.mark.slow
def test_the_evaluation_prompts_are_assessed_and_routed_as_before(encoder) -> None:
    whole = load_assessor(LanceSettings())
    assert whole.window_gate is not None
    opening = LabelEnhancementAssessor(whole.encoder, whole.checkpoint, whole=False)
    items = load_items("xstest") + load_items("harmful", limit=200)
    texts = [r.text for r in items]
    new, old = whole.assess(texts), opening.assess(texts)
    new_routes, old_routes = _routes(new, texts), _routes(old, texts)
    longer = {r.id for r, d in zip(items, old) if d.truncated or len(whole.readings(r.text)) > 1}
    changed = set()
    for r, a, b, ra, rb in zip(items, new, old, new_routes, old_routes):
        same = all(abs(a.probs[k] - b.probs[k]) <= 1e-6 for k in b.probs) and ra == rb
        if not same:
            changed.add(r.id)
    assert len(items) == 650
    assert changed <= longer, sorted(changed - longer)
    assert all(i.startswith("harmbench:") for i in longer), sorted(longer)
