"""The LANCE chain, top to bottom: assess → route → (refuse | neutralize) → answer → post-check → check answer
→ write the refusal if one was ordered. Each step is a stage (``lance.respond.stages``); ``Pipeline``
composes them and turns the final state into a ``LanceResult``.
"""

from __future__ import annotations

import logging
import time

from lance.assess.distribution import Assessor, RiskDistribution
from lance.backends.base import ChatModel, GenerateParams, MessagesLike
from lance.backends.events import record_calls, total_usage, with_role
from lance.config import LanceSettings
from lance.config.pipeline import PipelineConfig, load_pipeline_config
from lance.embeddings.encoder import Encoder
from lance.embeddings.sharing import reuse_embeddings
from lance.errors import ModelFileError
from lance.judges.base import RefusalCheck
from lance.refine.fewshot import FewShotRetriever
from lance.refine.loop import Refiner
from lance.refine.own_model import refiner_model
from lance.refine.styles import style_for
from lance.respond.postcheck import postcheck_detector
from lance.respond.stages import (
    Answer,
    Assess,
    Chain,
    CheckAnswer,
    Neutralize,
    PostCheck,
    RefuseRoute,
    RouteStage,
    Stage,
    WriteRefusal,
    start,
)
from lance.respond.state import RequestState
from lance.result import LanceResult, RefineResult
from lance.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)


class Pipeline:
    """One configured chain; ``Lance`` is its public face.

    The target, the refiner, the refusal writer and the critique are the given chat models
    recorded under their roles, so every call is an event on the result. The refiner is
    prompted in its style (``refine.styles.style_for``): LANCE's own model in its trained
    format, any other LLM with instructions and retrieved demonstrations.
    """

    def __init__(
        self,
        *,
        assessor: Assessor,
        target: ChatModel,
        refiner: ChatModel,
        encoder: Encoder,
        taxonomy: Taxonomy,
        config: PipelineConfig,
        detector: RefusalCheck,
        retriever: FewShotRetriever | None = None,
    ) -> None:
        self.assessor, self.encoder, self.taxonomy, self.config, self.detector = assessor, encoder, taxonomy, config, detector
        self.target = with_role(target, "target")
        self.refiner_llm = with_role(refiner, "refiner")
        self.style = style_for(refiner)
        if retriever is None and self.style.uses_demos:
            retriever = FewShotRetriever(encoder, taxonomy, data_limit=config.fewshot_data_pairs)
        self.retriever = retriever
        # LANCE's own model is trained for rewrites and refusals only: critiques come from the target.
        critic = refiner if self.style.uses_demos else target
        self.refiner = Refiner(
            assessor=assessor, llm=self.refiner_llm, encoder=encoder, taxonomy=taxonomy, config=config,
            retriever=self.retriever, detector=detector, critic=with_role(critic, "critique"), style=self.style,
        )
        self.chain = Chain(self.stages())
        self._assess_chain = Chain([Assess(assessor)])

    def stages(self) -> list[Stage]:
        """The LANCE chain, in order (the post-check and the answer check as configured)."""
        c = self.config
        answer = Answer(self.target, call_timeout=c.call_timeout)
        writer = with_role(self.refiner_llm, "refusal_writer") if c.llm_refusal else None
        stages: list[Stage] = [
            Assess(self.assessor),
            RouteStage(self.taxonomy, c),
            RefuseRoute(self.refiner),
            Neutralize(self.refiner, self.taxonomy, c),
            answer,
        ]
        if c.postcheck:
            stages.append(PostCheck(self.detector, self.refiner, answer, self.taxonomy, c))
        if c.assess_answer:
            stages.append(CheckAnswer(self.assessor, c.answer_min_safe))
        stages.append(WriteRefusal(self.taxonomy, writer, call_timeout=c.call_timeout, style=self.style))
        return stages

    # --- assess
    def assess(self, prompt: MessagesLike) -> RiskDistribution:
        state = self._assess_chain.run(start(prompt))
        assert state.dist is not None
        return state.dist

    # --- refine
    def refine(self, prompt: MessagesLike) -> RefineResult:
        with reuse_embeddings(), record_calls() as events:
            t0 = time.perf_counter()
            state = self._assess_chain.run(start(prompt))
            assert state.dist is not None
            traj = self.refiner.run(state.text, state.dist, assessor=state.judge, max_steps=max(1, self.config.max_steps))
            acc = traj.accepted
            if acc is not None:
                state.sent = acc.prompt  # the rewrite of the part that decided, back in its place
            return RefineResult(
                prompt=state.prompt,
                refined_prompt=state.sent_turn() if acc else None,
                distribution_before=state.dist,
                distribution_after=acc.distribution if acc else state.dist,
                gradients=[s.gradient for s in traj.steps if s.gradient is not None],
                trajectory=traj,
                llm_calls=len(events),
                usage=total_usage(events),
                latency_s=time.perf_counter() - t0,
            )

    # --- respond
    def respond(self, prompt: MessagesLike, params: GenerateParams | None = None) -> LanceResult:
        # One request, one embedding per text: the post-check and the refiner reuse the prompt's.
        with reuse_embeddings():
            t0 = time.perf_counter()
            state = self.chain.run(start(prompt, params))
            return result_of(state, time.perf_counter() - t0)


def result_of(state: RequestState, latency_s: float) -> LanceResult:
    """The ``LanceResult`` of a finished LANCE chain; cost derived from its call events."""
    assert state.dist is not None and state.route is not None
    refused = state.route == "refuse"
    return LanceResult(
        response=state.response, route=state.route, prompt=state.prompt or state.text,
        refined_prompt=None if refused or state.sent is None else state.sent_turn(),
        distribution_before=state.dist, distribution_after=None if refused else state.after,
        gradients=state.gradients, trajectory=state.trajectory, llm_calls=len(state.calls),
        usage=total_usage(state.calls), calls=state.calls, latency_s=latency_s, reason=state.reason,
        postcheck_refusal=state.postcheck_refusal, answer_distribution=state.answer_distribution,
        errors=list(state.errors), refusal_by=state.refusal_by if refused else None,
        timings=dict(state.timings),
    )


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
    refusal_detector: RefusalCheck | None = None,
) -> tuple[Pipeline, list[ChatModel]]:
    """Fill in every component not given from ``settings``; returns the chat models it created."""
    from lance.backends import get_chat_model

    cfg = config or load_pipeline_config(settings.pipeline)
    tax = taxonomy or load_taxonomy(settings.taxonomy)
    if encoder is None:
        from lance.embeddings.encoder import get_encoder

        encoder = get_encoder(settings.encoder.name, batch_size=settings.encoder.batch_size,
                              max_chars=settings.encoder.max_chars)
    owned: list[ChatModel] = []
    if target is None:
        target = get_chat_model(settings.backend)
        owned.append(target)
    if refiner is None:
        refiner = refiner_model(settings)
        owned.append(refiner)
    pipe = Pipeline(
        assessor=assessor or _load_assessor(settings, tax),
        target=target,
        refiner=refiner,
        encoder=encoder,
        taxonomy=tax,
        config=cfg,
        detector=refusal_detector or postcheck_detector(),
    )
    return pipe, owned
