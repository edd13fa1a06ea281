"""Which words carry which risk: occlusion through the label-enhancement model.

Every word and short phrase is removed in turn and the variants are re-assessed
in one batched ``assess()`` call; a span's score for category k is how much
k's mass falls without it. This costs one encoder pass, no LLM call, and it
explains the assessor actually used for routing (not some proxy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lance.assess.distribution import Assessor, RiskDistribution
from lance.gradients.gradient import Span

_WORD = re.compile(r"[\w'’-]+", re.UNICODE)

#: Spans do not start or end on these (nor consist of one): "the bomb" says no more than "bomb".
_STOP = frozenset(
    "a an the of to in on for and or but with at by from as is are was be i me my you your it this that "
    "how what can could would should do does please".split()
)


def words(text: str) -> list[tuple[int, int]]:
    """Character ``(start, end)`` of each word."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def candidate_spans(text: str, max_words: int = 3, max_variants: int = 160) -> list[tuple[int, int]]:
    """Contiguous 1..max_words word spans, fewer words per span when the prompt is long."""
    ws = words(text)
    n = len(ws)
    if n == 0:
        return []
    width = max_words
    while width > 1 and n * width > max_variants:
        width -= 1
    out: list[tuple[int, int]] = []
    for size in range(1, width + 1):
        for i in range(0, n - size + 1):
            first, last = text[ws[i][0] : ws[i][1]].lower(), text[ws[i + size - 1][0] : ws[i + size - 1][1]].lower()
            if first in _STOP or last in _STOP:
                continue
            out.append((ws[i][0], ws[i + size - 1][1]))
    if len(out) > max_variants:
        out = out[:max_variants]
    return out


def occlude(text: str, start: int, end: int) -> str:
    """The text with ``[start, end)`` removed and whitespace tidied."""
    return re.sub(r"\s{2,}", " ", (text[:start] + " " + text[end:]).strip())


def occlusion_attribution(
    text: str,
    assessor: Assessor,
    categories: Sequence[str],
    *,
    base: RiskDistribution | None = None,
    max_words: int = 3,
    max_variants: int = 160,
) -> dict[str, list[Span]]:
    """Spans of ``text`` ranked by how much each category's mass drops without them.

    One ``assessor.assess`` call covers every occluded variant (plus ``text`` itself when
    ``base`` is not given). Spans with no positive effect are left out.
    """
    spans = candidate_spans(text, max_words=max_words, max_variants=max_variants)
    if not spans or not categories:
        return {c: [] for c in categories}
    variants = [occlude(text, s, e) for s, e in spans]
    batch = variants if base is not None else [text, *variants]
    dists = assessor.assess(batch)
    if base is None:
        base, dists = dists[0], dists[1:]
    out: dict[str, list[Span]] = {}
    for c in categories:
        p0 = base.probs.get(c, 0.0)
        scored = [
            Span(text=text[s:e], start=s, end=e, score=p0 - d.probs.get(c, 0.0))
            for (s, e), d in zip(spans, dists)
        ]
        out[c] = sorted((sp for sp in scored if sp.score > 0), key=lambda sp: (-sp.score, sp.end - sp.start))
    return out


def select_spans(ranked: Sequence[Span], k: int, min_score: float = 0.0) -> list[Span]:
    """Greedy top-``k`` non-overlapping spans with score above ``min_score``, in text order."""
    chosen: list[Span] = []
    for sp in ranked:
        if len(chosen) >= k or sp.score <= min_score:
            break
        if any(sp.start < c.end and c.start < sp.end for c in chosen):
            continue
        chosen.append(sp)
    return sorted(chosen, key=lambda s: -s.score)
