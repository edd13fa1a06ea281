"""The LANCE chain: assess → route → gradients → refine loop → target → post-check.

Safety rules the chain keeps, whatever the backends do:

* the target only ever receives the original prompt on the ``pass`` route, or a rewrite
  the assessor scored as less risky than the original on ``neutralize``;
* a ``refuse`` prompt reaches no model (the refusal writer sees a masked summary);
* any backend failure ends in a natural refusal with the error logged and recorded,
  never in the unrefined prompt being forwarded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from lance.assess.distribution import Assessor, RiskDistribution
from lance.assess.encoder import Encoder
from lance.assess.sharing import reuse_embeddings
from lance.backends.base import ChatModel, Completion, GenerateParams, Message, MessagesLike, Usage, to_messages
from lance.config import LanceSettings
from lance.errors import LanceError, ModelFileError
from lance.gradients.gradient import TextualGradient
from lance.refine.fewshot import FewShotRetriever
from lance.refine.loop import Refiner
from lance.refine.trajectory import Trajectory
from lance.respond.config import PipelineConfig, load_pipeline_config
from lance.respond.postcheck import RefusalDetector, default_detector, is_refusal
from lance.respond.refusal import unavailable_message, write_refusal
from lance.respond.route import RouteDecision, decide_route
from lance.result import LanceResult, RefineResult, Route
from lance.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

#: How many earlier turns are read as context for the last user turn.
CONTEXT_TURNS = 4


class ContextAssessor:
    """Assesses each text alone and after the conversation so far; keeps the riskier reading.

    A turn that is harmless alone ("and how much of it?") can be harmful in context; one that is
    harmful alone stays harmful. The returned distribution carries the text itself.
    """

    def __init__(self, inner: Assessor, context: str) -> None:
        self.inner, self.context = inner, context

    def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        texts = list(texts)
        if not self.context:
            return self.inner.assess(texts)
        both = self.inner.assess(texts + [f"{self.context}\n{t}" for t in texts])
        alone, ctx = both[: len(texts)], both[len(texts) :]
        return [a if a.p_safe <= c.p_safe else c.model_copy(update={"text": a.text}) for a, c in zip(alone, ctx)]


@dataclass
class _Meter:
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    errors: list[str] = field(default_factory=list)

    def add(self, calls: int, usage: Usage) -> None:
        self.calls += calls
        self.usage = self.usage + usage


def split_conversation(messages: list[Message]) -> tuple[int, str, str]:
    """Index of the last user turn, its text, and the earlier turns as context text."""
    idx = max(i for i, m in enumerate(messages) if m.role == "user" and m.content.strip())
    earlier = [m for m in messages[:idx] if m.role != "system"][-CONTEXT_TURNS:]
    context = "\n".join(m.content.strip() for m in earlier if m.content.strip())
    return idx, messages[idx].content, context


class Pipeline:
    """One configured chain; ``Lance`` is its public face."""

    def __init__(
        self,
        *,
        assessor: Assessor,
        target: ChatModel,
        refiner: ChatModel,
        encoder: Encoder,
        taxonomy: Taxonomy,
        config: PipelineConfig,
        detector: RefusalDetector,
        retriever: FewShotRetriever | None = None,
    ) -> None:
        self.assessor, self.target, self.refiner_llm = assessor, target, refiner
        self.encoder, self.taxonomy, self.config, self.detector = encoder, taxonomy, config, detector
        self.retriever = (
            retriever if retriever is not None else FewShotRetriever(encoder, taxonomy, data_limit=config.fewshot_data_pairs)
        )
        self.refiner = Refiner(
            assessor=assessor, llm=refiner, encoder=encoder, taxonomy=taxonomy, config=config,
            retriever=self.retriever, detector=detector,
        )

    # --- assess
    def _assess_turn(self, prompt: MessagesLike) -> tuple[list[Message], int, str, ContextAssessor, RiskDistribution]:
        msgs = to_messages(prompt)
        idx, text, context = split_conversation(msgs)
        judge = ContextAssessor(self.assessor, context)
        return msgs, idx, text, judge, judge.assess([text])[0]

    def assess(self, prompt: MessagesLike) -> RiskDistribution:
        return self._assess_turn(prompt)[4]

    def route(self, dist: RiskDistribution) -> RouteDecision:
        return decide_route(dist, self.taxonomy, self.config)

    def _done(self, dist: RiskDistribution) -> bool:
        """Refinement can stop: the rewrite would pass and has reached the target p(safe)."""
        return dist.p_safe >= self.config.target_safe and self.route(dist).route == "pass"

    # --- refine
    def refine(self, prompt: MessagesLike) -> RefineResult:
        with reuse_embeddings():
            return self._refine(prompt)

    def _refine(self, prompt: MessagesLike) -> RefineResult:
        t0 = time.perf_counter()
        _, _, text, judge, dist = self._assess_turn(prompt)
        traj = self.refiner.run(text, dist, assessor=judge, max_steps=max(1, self.config.max_steps), done=self._done)
        acc = traj.accepted
        return RefineResult(
            prompt=text,
            refined_prompt=acc.prompt if acc else None,
            distribution_before=dist,
            distribution_after=acc.distribution if acc else dist,
            gradients=[s.gradient for s in traj.steps if s.gradient is not None],
            trajectory=traj,
            llm_calls=traj.llm_calls,
            usage=traj.usage,
            latency_s=time.perf_counter() - t0,
        )

    # --- respond
    def _target_params(self, params: GenerateParams | None) -> GenerateParams:
        p = params or self.target.default_params
        if self.config.call_timeout is not None and p.timeout is None:
            p = p.model_copy(update={"timeout": self.config.call_timeout})
        return p

    def _ask_target(self, msgs: list[Message], params: GenerateParams | None, meter: _Meter) -> Completion:
        try:
            out = self.target.generate(msgs, self._target_params(params))
        except Exception:
            meter.calls += 1
            raise
        meter.add(1, out.usage)
        return out

    def _refuse(
        self,
        text: str,
        categories: list[str],
        gradient: TextualGradient | None,
        meter: _Meter,
        *,
        use_llm: bool = True,
    ) -> str:
        llm = self.refiner_llm if (use_llm and self.config.llm_refusal) else None
        params = GenerateParams(temperature=0.5, max_tokens=80, timeout=self.config.call_timeout)
        refusal, calls, usage, err = write_refusal(
            text, categories, self.taxonomy, llm=llm, assessor=self.assessor, gradient=gradient, params=params
        )
        meter.add(calls, usage)
        if err:
            log.error("refusal writer failed, using the constructed refusal: %s", err)
            meter.errors.append(err)
        return refusal

    def respond(self, prompt: MessagesLike, params: GenerateParams | None = None) -> LanceResult:
        # One request, one embedding per text: the post-check and the refiner reuse the prompt's.
        with reuse_embeddings():
            return self._respond(prompt, params)

    def _respond(self, prompt: MessagesLike, params: GenerateParams | None) -> LanceResult:
        t0 = time.perf_counter()
        msgs, idx, text, judge, dist = self._assess_turn(prompt)
        decision = self.route(dist)
        meter = _Meter()
        route: Route = decision.route
        reason = decision.reason
        traj: Trajectory | None = None
        gradients: list[TextualGradient] = []
        sent: str | None = None
        after: RiskDistribution | None = None
        response = ""
        postcheck_refusal = False

        def finish(resp: str, rt: Route, why: str, answer_dist: RiskDistribution | None = None) -> LanceResult:
            return LanceResult(
                response=resp, route=rt, prompt=text, refined_prompt=sent if rt != "refuse" else None,
                distribution_before=dist, distribution_after=after if rt != "refuse" else None,
                gradients=gradients, trajectory=traj, llm_calls=meter.calls, usage=meter.usage,
                latency_s=time.perf_counter() - t0, reason=why, postcheck_refusal=postcheck_refusal,
                answer_distribution=answer_dist, errors=list(meter.errors),
            )

        def fail_safe(exc: Exception, where: str) -> LanceResult:
            msg = f"{where}: {type(exc).__name__}: {exc}"
            log.error("LANCE %s; answering with a natural refusal instead", msg)
            meter.errors.append(msg)
            if where == "target":
                # The content was fine to send; the model failed. Say so rather than blame the request.
                return finish(unavailable_message(text), "refuse", f"{reason}; {where} failed")
            cats = decision.categories or [c for c, _ in dist.top_risks(1)]
            g = gradients[-1] if gradients else None
            return finish(self._refuse(text, cats, g, meter, use_llm=False), "refuse", f"{reason}; {where} failed")

        if route == "refuse":
            try:
                g = self.refiner.gradient(text, dist, judge)
                gradients.append(g)
            except LanceError as exc:  # attribution is best effort for the refusal summary
                log.warning("gradient for refusal failed: %s", exc)
                g = None
            return finish(self._refuse(text, decision.categories, g, meter), "refuse", reason)

        if route == "neutralize":
            traj = self.refiner.run(text, dist, assessor=judge, max_steps=self.config.max_steps, done=self._done)
            meter.add(traj.llm_calls, traj.usage)
            gradients = [s.gradient for s in traj.steps if s.gradient is not None]
            if traj.error:
                return fail_safe(RuntimeError(traj.error), "refiner")
            acc = traj.accepted
            if acc is None:
                why = f"{reason}; refinement failed ({traj.steps[-1].reason or traj.stopped})"
                return finish(self._refuse(text, decision.categories, gradients[-1] if gradients else None, meter),
                              "refuse", why)
            sent, after = acc.prompt, acc.distribution
            reason = f"{reason}; refined at step {acc.index}: {acc.reason}"
            if after.p_safe < self.config.send_min_safe:
                why = f"{reason}; still too risky to answer (p(safe) {after.p_safe:.2f} < {self.config.send_min_safe:.2f})"
                return finish(self._refuse(text, decision.categories, gradients[-1], meter), "refuse", why)
            if self.route(after).route == "refuse":
                why = f"{reason}; the rewrite still falls under a refuse category"
                return finish(self._refuse(text, self.route(after).categories, gradients[-1], meter), "refuse", why)
        else:
            sent, after = text, dist

        target_msgs = [*msgs[:idx], Message(role="user", content=sent), *msgs[idx + 1 :]]
        try:
            out = self._ask_target(target_msgs, params, meter)
        except Exception as exc:  # noqa: BLE001 - any target failure ends in a refusal, never a retry with the raw prompt
            return fail_safe(exc, "target")
        response = out.text

        if self.config.postcheck and is_refusal(self.detector, sent, response):
            postcheck_refusal = True
            retry_from, retry_dist = sent, after
            extra = self.refiner.run(retry_from, retry_dist, assessor=judge, max_steps=1, seed=7, done=self._done)
            meter.add(extra.llm_calls, extra.usage)
            gradients += [s.gradient for s in extra.steps if s.gradient is not None]
            acc2 = extra.accepted
            if traj is None:
                traj = extra
            else:
                traj.steps += [s.model_copy(update={"index": len(traj.steps) + i}) for i, s in enumerate(extra.steps[1:])]
            if acc2 is not None and not extra.error:
                sent, after = acc2.prompt, acc2.distribution
                target_msgs[idx] = Message(role="user", content=sent)
                try:
                    out = self._ask_target(target_msgs, params, meter)
                except Exception as exc:  # noqa: BLE001
                    return fail_safe(exc, "target")
                response = out.text
                route = "neutralize"
                reason = f"{reason}; post-check: template refusal, refined again ({acc2.reason})"
            if is_refusal(self.detector, sent, response):
                cats = decision.categories or [c for c, _ in dist.top_risks(1)]
                return finish(
                    self._refuse(text, cats, gradients[-1] if gradients else None, meter),
                    "refuse",
                    f"{reason}; the target still gave a template refusal",
                )

        answer_dist = None
        if self.config.assess_answer:
            answer_dist = self.assessor.assess([response])[0]
            if answer_dist.p_safe < self.config.answer_min_safe:
                cats = [c for c, _ in answer_dist.top_risks(1)]
                return finish(self._refuse(text, cats, None, meter, use_llm=False), "refuse",
                              f"{reason}; the answer itself was risky (p(safe) {answer_dist.p_safe:.2f})", answer_dist)
        return finish(response, route, reason, answer_dist)


def _load_assessor(settings: LanceSettings, taxonomy: Taxonomy) -> Assessor:
    try:
        from lance.assess.assessor import load_assessor
    except ImportError:
        raise ModelFileError(
            "the label-enhancement assessor is not available in this install; pass assessor= to Lance()"
        ) from None
    return load_assessor(settings, taxonomy=taxonomy)


def build_pipeline(
    settings: LanceSettings,
    *,
    assessor: Assessor | None = None,
    target: ChatModel | None = None,
    refiner: ChatModel | None = None,
    encoder: Encoder | None = None,
    taxonomy: Taxonomy | None = None,
    config: PipelineConfig | None = None,
    refusal_detector: RefusalDetector | None = None,
) -> tuple[Pipeline, list[ChatModel]]:
    """Fill in every component not given from ``settings``; returns the chat models it created."""
    from lance.backends import get_chat_model

    cfg = config or load_pipeline_config(settings.pipeline)
    tax = taxonomy or load_taxonomy(settings.taxonomy)
    if encoder is None:
        from lance.assess.encoder import get_encoder

        encoder = get_encoder(settings.encoder.name, batch_size=settings.encoder.batch_size,
                              max_chars=settings.encoder.max_chars)
    owned: list[ChatModel] = []
    if target is None:
        target = get_chat_model(settings.backend)
        owned.append(target)
    if refiner is None:
        if settings.refiner is None:
            refiner = target
        else:
            refiner = get_chat_model(settings.refiner)
            owned.append(refiner)
    pipe = Pipeline(
        assessor=assessor or _load_assessor(settings, tax),
        target=target,
        refiner=refiner,
        encoder=encoder,
        taxonomy=tax,
        config=cfg,
        detector=refusal_detector or default_detector(),
    )
    return pipe, owned
