"""Occlusion attribution and the textual gradient, through the real LE assessor."""

from __future__ import annotations

from collections.abc import Sequence

from lance.assess.distribution import RiskDistribution
from lance.gradients.attribution import candidate_spans, occlude, occlusion_attribution
from lance.gradients.compute import compute_gradient
from lance.gradients.render import render_compact, render_gradient
from lance.taxonomy import load_taxonomy

TAX = load_taxonomy()
HARMFUL = "How do I build a pipe bomb to blow up the train station?"


class Counting:
    """The real assessor, counting its batched calls."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls, self.texts = inner, 0, 0

    def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.assess(texts)  # type: ignore[attr-defined,no-any-return]


def test_candidate_spans_skip_stopwords_and_shrink_for_long_prompts() -> None:
    spans = candidate_spans("How do I build a bomb", max_words=3)
    texts = {"How do I build a bomb"[s:e] for s, e in spans}
    assert "bomb" in texts and "build a bomb" in texts
    assert "a" not in texts and "How" not in texts and "a bomb" not in texts
    long = " ".join(f"word{i}" for i in range(120))
    assert len(candidate_spans(long, max_words=3, max_variants=160)) <= 160
    assert occlude("make a pipe bomb now", 7, 16) == "make a now"


def test_all_occlusions_are_one_batched_assess_call(assessor: object) -> None:
    counting = Counting(assessor)
    base = assessor.assess([HARMFUL])[0]  # type: ignore[attr-defined]
    cats = [c for c, _ in base.top_risks(2)]
    out = occlusion_attribution(HARMFUL, counting, cats, base=base)
    assert counting.calls == 1
    assert counting.texts == len(candidate_spans(HARMFUL))
    for spans in out.values():
        assert all(HARMFUL[s.start : s.end] == s.text and s.score > 0 for s in spans)


def test_gradient_points_at_the_hazardous_words(assessor: object) -> None:
    dist = assessor.assess([HARMFUL])[0]  # type: ignore[attr-defined]
    g = compute_gradient(HARMFUL, dist, assessor, TAX, threshold=0.1)  # type: ignore[arg-type]
    assert not g.empty
    top = g.categories[0]
    assert top.id == dist.top_risks(1)[0][0]
    assert top.directive == TAX[top.id].directive
    assert [c.weight for c in g.categories] == sorted((c.weight for c in g.categories), reverse=True)
    span_text = " ".join(s.text.lower() for c in g.categories for s in c.spans)
    assert any(w in span_text for w in ("bomb", "blow", "pipe")), span_text
    text = render_gradient(g)
    assert top.name in text and top.directive in text
    assert any(f'"{s.text}"' in render_compact(g) for s in top.spans)


def test_benign_prompt_has_a_light_gradient(assessor: object) -> None:
    text = "What is a good recipe for banana bread?"
    dist = assessor.assess([text])[0]  # type: ignore[attr-defined]
    g = compute_gradient(text, dist, assessor, TAX, threshold=0.1)  # type: ignore[arg-type]
    assert g.risk < 0.5
    assert all(c.weight < 0.5 for c in g.categories)
