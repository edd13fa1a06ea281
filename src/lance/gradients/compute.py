"""From a risk distribution to a textual gradient (no LLM call unless critique is on)."""

from __future__ import annotations

from lance.assess.distribution import Assessor, RiskDistribution
from lance.gradients.attribution import occlusion_attribution, select_spans
from lance.gradients.gradient import CategoryGradient, TextualGradient
from lance.taxonomy import SAFE, Taxonomy


def directions(dist: RiskDistribution, threshold: float, max_directions: int) -> list[tuple[str, float]]:
    """Risk categories with mass ≥ ``threshold``, heaviest first; the top one when none passes.

    Falling back to the top category keeps a direction for prompts whose risk is spread thinly.
    """
    risks = dist.top_risks(len(dist.probs))
    chosen = [(c, p) for c, p in risks if p >= threshold][:max_directions]
    if not chosen and risks and dist.risk > 0:
        chosen = risks[:1]
    return chosen


def compute_gradient(
    text: str,
    dist: RiskDistribution,
    assessor: Assessor,
    taxonomy: Taxonomy,
    *,
    threshold: float = 0.1,
    max_directions: int = 3,
    max_spans: int = 3,
    max_span_words: int = 3,
) -> TextualGradient:
    """The multi-directional gradient of ``text``: per heavy category, its spans and directive."""
    dirs = [(c, p) for c, p in directions(dist, threshold, max_directions) if c != SAFE and c in taxonomy.ids]
    ranked = (
        occlusion_attribution(text, assessor, [c for c, _ in dirs], base=dist, max_words=max_span_words)
        if dirs and max_spans > 0
        else {}
    )
    cats = []
    for cid, p in dirs:
        cat = taxonomy[cid]
        spans = select_spans(ranked.get(cid, []), max_spans, min_score=0.1 * p)
        cats.append(
            CategoryGradient(id=cid, name=cat.name, weight=min(1.0, p), spans=tuple(spans), directive=cat.directive)
        )
    return TextualGradient(prompt=text, risk=min(1.0, max(0.0, dist.risk)), categories=tuple(cats))
