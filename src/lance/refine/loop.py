"""The refinement loop: gradient → best-of-N rewrite → re-assess → accept or reject.

A step is accepted only when the rewrite's risk falls below the current prompt's
and its embedding similarity to the *original* stays at or above the floor, so an
accepted prompt is never riskier than the original and never drifts to another
topic. The loop stops when p(safe) reaches the target, after ``max_steps``, when
the call budget is spent, or on a backend error (recorded, never raised).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lance.assess.distribution import Assessor, RiskDistribution
from lance.assess.routing import decide_route
from lance.embeddings.encoder import Encoder
from lance.backends.base import ChatModel, GenerateParams, Usage
from lance.errors import BackendError
from lance.gradients.compute import compute_gradient
from lance.gradients.critique import add_critiques
from lance.gradients.gradient import TextualGradient
from lance.refine.fewshot import FewShotRetriever
from lance.refine.search import search
from lance.refine.styles import FewShotStyle, RefinerStyle
from lance.refine.trajectory import Step, Trajectory
from lance.config.pipeline import PipelineConfig
from lance.judges.base import RefusalCheck
from lance.taxonomy import Taxonomy

log = logging.getLogger(__name__)


@dataclass
class Refiner:
    """Everything one refinement needs; cheap to build, shared across requests."""

    assessor: Assessor
    llm: ChatModel
    encoder: Encoder
    taxonomy: Taxonomy
    config: PipelineConfig
    retriever: FewShotRetriever | None = None
    detector: RefusalCheck | None = None
    #: The LLM that writes TextGrad-style critiques when ``config.critique`` is on (default: ``llm``).
    critic: ChatModel | None = None
    #: How ``llm`` is prompted (``refine.styles.style_for``).
    style: RefinerStyle = field(default_factory=FewShotStyle)

    def params(self) -> GenerateParams:
        c = self.config
        return GenerateParams(
            temperature=c.refiner_temperature, max_tokens=c.refiner_max_tokens, timeout=c.call_timeout, top_p=0.95
        )

    def done(self, dist: RiskDistribution) -> bool:
        """Refinement can stop: the rewrite reaches ``target_safe`` and would be routed ``pass``."""
        return dist.p_safe >= self.config.target_safe and decide_route(dist, self.taxonomy, self.config).route == "pass"

    def _enough(self, max_risk: float) -> Callable[[RiskDistribution], bool]:
        """A candidate that would be accepted and end the loop: no need to sample more."""
        return lambda d: d.risk < max_risk and self.done(d)

    def gradient(self, text: str, dist: RiskDistribution, assessor: Assessor | None = None) -> TextualGradient:
        c = self.config
        return compute_gradient(
            text,
            dist,
            assessor or self.assessor,
            self.taxonomy,
            threshold=c.gradient_threshold,
            max_directions=c.max_directions,
            max_spans=c.max_spans,
            max_span_words=c.max_span_words,
        )

    def run(
        self,
        prompt: str,
        dist: RiskDistribution,
        *,
        assessor: Assessor | None = None,
        max_steps: int | None = None,
        seed: int = 0,
    ) -> Trajectory:
        """Refine ``prompt`` (whose assessment is ``dist``) for up to ``max_steps`` steps.

        ``assessor`` overrides the default (e.g. one that reads the conversation as context).
        The loop stops early once an accepted rewrite would pass the gate (``done``).
        The original is always refined at least once when ``max_steps`` ≥ 1.
        """
        cfg = self.config
        judge = assessor or self.assessor
        traj = Trajectory(steps=[Step(index=0, prompt=prompt, distribution=dist, verdict="start")])
        steps = cfg.max_steps if max_steps is None else max_steps
        original_emb = self.encoder.encode([prompt])[0]
        current, cur_dist, cur_sim = prompt, dist, 1.0
        calls_left = cfg.max_refiner_calls
        for k in range(1, steps + 1):
            n = min(cfg.candidates, calls_left)
            if n <= 0:
                traj.stopped = "max_calls"
                break
            t0 = time.perf_counter()
            calls, usage = 0, Usage()
            gradient = self.gradient(current, cur_dist, judge)
            try:
                if cfg.critique:
                    gradient, c_calls, c_usage = add_critiques(gradient, self.critic or self.llm, self.params())
                    calls, usage = calls + c_calls, usage + c_usage
                demos = (
                    self.retriever.retrieve(
                        current,
                        cfg.fewshot_k,
                        categories=gradient.ids,
                        query_embedding=original_emb if current == prompt else None,
                    )
                    if self.retriever and self.style.uses_demos
                    else []
                )
                res = search(
                    refiner=self.llm,
                    assessor=judge,
                    encoder=self.encoder,
                    original=prompt,
                    original_embedding=original_emb,
                    current=current,
                    gradient=gradient,
                    demos=demos,
                    n=n,
                    params=self.params(),
                    similarity_floor=cfg.similarity_floor,
                    detector=self.detector,
                    seed=seed + 100 * k,
                    style=self.style,
                    enough=self._enough(cur_dist.risk - cfg.min_risk_drop),
                )
            except BackendError as exc:
                log.error("refiner backend failed at step %d: %s", k, exc)
                traj.steps.append(
                    Step(
                        index=k, prompt=current, distribution=cur_dist, gradient=gradient, verdict="error",
                        reason=str(exc), similarity=cur_sim, llm_calls=calls + 1, usage=usage,
                        latency_s=time.perf_counter() - t0,
                    )
                )
                traj.stopped, traj.error = "error", f"{type(exc).__name__}: {exc}"
                return traj
            calls_left -= res.llm_calls
            calls, usage = calls + res.llm_calls, usage + res.usage
            best = res.best
            verdict, reason = "rejected", ""
            if best is None:
                reasons = sorted({c.invalid or "below similarity floor" for c in res.candidates})
                reason = "no usable candidate: " + ", ".join(reasons)
            else:
                cand, cdist = res.candidates[best], res.distributions[best]
                assert cdist is not None
                if cdist.risk < cur_dist.risk - cfg.min_risk_drop:
                    verdict = "accepted"
                    current, cur_dist, cur_sim = cand.text, cdist, cand.similarity or 0.0
                    reason = f"risk {dist.risk:.2f} → {cdist.risk:.2f}, similarity {cur_sim:.2f}"
                else:
                    reason = f"best candidate risk {cdist.risk:.2f} not below {cur_dist.risk:.2f}"
            traj.steps.append(
                Step(
                    index=k, prompt=current, distribution=cur_dist, gradient=gradient, verdict=verdict,
                    reason=reason, similarity=cur_sim, candidates=res.candidates, llm_calls=calls, usage=usage,
                    latency_s=time.perf_counter() - t0,
                )
            )
            if verdict == "accepted" and self.done(cur_dist):
                traj.stopped = "target_reached"
                break
        else:
            traj.stopped = "max_steps"
        return traj
