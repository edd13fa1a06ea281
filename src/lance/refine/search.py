"""Best-of-N search: sample rewrites, re-assess each, keep the best.

A 270M refiner rewrites poorly in one shot, but often well in one of a few
samples; the label-enhancement model is cheap, so it picks. Every sample is one
LLM call and is counted; the search stops at the first candidate that is already
good enough (``enough``), so a refiner that gets it right first costs one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lance.assess.distribution import Assessor, RiskDistribution
from lance.embeddings.encoder import Encoder
from lance.backends.base import ChatModel, GenerateParams, Usage
from lance.gradients.gradient import TextualGradient
from lance.refine.step import refine_once
from lance.refine.styles import RefinerStyle
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
    style: RefinerStyle | None = None,
    enough: Callable[[RiskDistribution], bool] | None = None,
) -> SearchResult:
    """Sample up to ``n`` rewrites of ``current``; the best is the lowest-risk valid one above the similarity floor.

    A usable candidate whose distribution is ``enough`` ends the search early.
    """
    cands: list[Candidate] = []
    dists: list[RiskDistribution | None] = []
    usage = Usage()
    calls = 0
    seen: set[str] = set()
    for i in range(n):
        p = params.model_copy(update={"seed": seed + i})
        out = refine_once(refiner, current, gradient, demos, p, original=original, detector=detector,
                          style=style, index=i)
        calls += 1
        usage = usage + out.completion.usage
        invalid = out.invalid
        if invalid is None and out.text.lower() in seen:
            invalid = "duplicate"
        seen.add(out.text.lower())
        cand, dist = Candidate(text=out.text, invalid=invalid), None
        if invalid is None:
            dist = assessor.assess([out.text])[0]
            sim = similarity(encoder, original_embedding, [out.text])[0]
            cand = cand.model_copy(update={"risk": dist.risk, "p_safe": dist.p_safe, "similarity": sim})
        cands.append(cand)
        dists.append(dist)
        if dist is not None and (cand.similarity or 0.0) >= similarity_floor and enough is not None and enough(dist):
            break
    valid = [i for i, c in enumerate(cands) if c.invalid is None]
    usable = [i for i in valid if (cands[i].similarity or 0.0) >= similarity_floor]
    best = min(usable, key=lambda i: (cands[i].risk or 1.0, -(cands[i].similarity or 0.0))) if usable else None
    return SearchResult(candidates=cands, distributions=dists, best=best, llm_calls=calls, usage=usage)
