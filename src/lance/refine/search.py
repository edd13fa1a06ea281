"""Best-of-N search: sample rewrites, re-assess them in one batch, keep the best.

A 270M refiner rewrites poorly in one shot, but often well in one of a few
samples; the label-enhancement model is cheap, so it picks. Every sample is one
LLM call and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lance.assess.distribution import Assessor, RiskDistribution
from lance.embeddings.encoder import Encoder
from lance.backends.base import ChatModel, GenerateParams, Usage
from lance.gradients.gradient import TextualGradient
from lance.refine.step import refine_once
from lance.refine.trajectory import Candidate
from lance.judges.base import RefusalCheck


@dataclass
class SearchResult:
    """All candidates of one step, and the index of the best usable one (or ``None``)."""

    candidates: list[Candidate]
    distributions: list[RiskDistribution | None]
    best: int | None
    llm_calls: int = 0
    usage: Usage = field(default_factory=Usage)


def similarity(encoder: Encoder, reference: np.ndarray, texts: Sequence[str]) -> list[float]:
    """Cosine similarity of each text to a unit reference embedding."""
    if not texts:
        return []
    emb = encoder.encode(list(texts))
    return [float(v) for v in emb @ reference]


def search(
    *,
    refiner: ChatModel,
    assessor: Assessor,
    encoder: Encoder,
    original: str,
    original_embedding: np.ndarray,
    current: str,
    gradient: TextualGradient,
    demos: Sequence[tuple[str, str, str]],
    n: int,
    params: GenerateParams,
    similarity_floor: float,
    detector: RefusalCheck | None = None,
    seed: int = 0,
) -> SearchResult:
    """Sample ``n`` rewrites of ``current``; the best is the lowest-risk valid one above the similarity floor."""
    cands: list[Candidate] = []
    usage = Usage()
    calls = 0
    seen: set[str] = set()
    for i in range(n):
        p = params.model_copy(update={"seed": seed + i})
        out = refine_once(refiner, current, gradient, demos, p, original=original, detector=detector)
        calls += 1
        usage = usage + out.completion.usage
        invalid = out.invalid
        if invalid is None and out.text.lower() in seen:
            invalid = "duplicate"
        seen.add(out.text.lower())
        cands.append(Candidate(text=out.text, invalid=invalid))
    valid = [i for i, c in enumerate(cands) if c.invalid is None]
    dists: list[RiskDistribution | None] = [None] * len(cands)
    if valid:
        texts = [cands[i].text for i in valid]
        assessed = assessor.assess(texts)
        sims = similarity(encoder, original_embedding, texts)
        for i, d, s in zip(valid, assessed, sims):
            dists[i] = d
            cands[i] = cands[i].model_copy(update={"risk": d.risk, "p_safe": d.p_safe, "similarity": s})
    usable = [i for i in valid if (cands[i].similarity or 0.0) >= similarity_floor]
    best = min(usable, key=lambda i: (cands[i].risk or 1.0, -(cands[i].similarity or 0.0))) if usable else None
    return SearchResult(candidates=cands, distributions=dists, best=best, llm_calls=calls, usage=usage)
