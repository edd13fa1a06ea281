"""The pipeline's stages: each one typed callable over one ``RequestState``, composed by ``Chain``.

A stage does one job and writes what it found on the state; ``Chain`` runs them in order,
skips the rest once a stage has decided the request ends (``state.stopped``), always runs the
refusal writer last when a refusal was ordered, and records every LLM call made on the way
as an event (``lance.backends.events``). Under a request deadline (``lance.backends.deadline``)
a chain that has run out of time stops before its next stage with ``BackendTimeout``. The LANCE chain, top to bottom, is in
``lance.respond.pipeline``; the evaluation's baselines are other chains of the same stages
(``lance.eval.methods``).

Safety rules the stages keep, whatever the backends do:

* every user and system turn, all of each (long ones in overlapping windows, encoded ones also
  decoded), and any turn after the last user turn is assessed before any model is called; the
  request is routed by its riskiest part (``RouteStage``);
* the target only receives the original prompt on the ``pass`` route, or a rewrite the
  assessor scored as less risky than the original on ``neutralize``;
* a ``refuse`` prompt reaches no model (the refusal writer sees a masked summary);
* a backend failure ends in a natural refusal (or, for the target, an honest "not
  responding" message) with the error recorded, never in the unrefined prompt being forwarded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lance.assess.distribution import Assessor, Part, RiskDistribution
from lance.assess.bright_lines import MINOR_SEXUAL_CATEGORY, minor_sexual_content
from lance.assess.instructions import assess_system_turns
from lance.assess.routing import RouteDecision, decide_route
from lance.backends import deadline
from lance.backends.base import ChatModel, GenerateParams, Message, MessagesLike, to_messages
from lance.backends.events import record_calls
from lance.config.pipeline import PipelineConfig
from lance.errors import InputError, LanceError
from lance.judges.base import RefusalCheck, is_refusal
from lance.refine.loop import Refiner
from lance.refine.styles import RefinerStyle
from lance.respond.refusal import unavailable_message, write_refusal
from lance.respond.state import RequestState, TurnRisk
from lance.taxonomy import Taxonomy

log = logging.getLogger(__name__)

#: How many earlier turns are read as context for the last user turn.
CONTEXT_TURNS = 4
#: Roles whose every turn is assessed on its own: what the user and the application say (the
#: server maps ``developer`` to ``system``). Earlier assistant turns are read as context.
ASSESSED_ROLES = ("system", "user")


class Stage:
    """One step of a chain. ``run`` does the work; ``arun`` is the same off the event loop."""

    name = "stage"
    #: Runs even after an earlier stage stopped the request (the refusal writer).
    always = False

    def run(self, state: RequestState) -> None:
        raise NotImplementedError

    async def arun(self, state: RequestState) -> None:
        await asyncio.to_thread(self.run, state)


class Chain:
    """Stages in order; the result is the state after the last one."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    def _runs(self, stage: Stage, state: RequestState) -> bool:
        return stage.always or not state.stopped

    def run(self, state: RequestState) -> RequestState:
        with record_calls() as events:
            for stage in self.stages:
                if self._runs(stage, state):
                    deadline.check(f"stage {stage.name!r}")
                    t0 = time.perf_counter()
                    stage.run(state)
                    _timed(state, stage, t0)
        state.calls = list(events)
        return state

    async def arun(self, state: RequestState) -> RequestState:
        with record_calls() as events:
            for stage in self.stages:
                if self._runs(stage, state):
                    deadline.check(f"stage {stage.name!r}")
                    t0 = time.perf_counter()
                    await stage.arun(state)
                    _timed(state, stage, t0)
        state.calls = list(events)
        return state

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]


def _timed(state: RequestState, stage: Stage, t0: float) -> None:
    """Add the stage's wall time to ``state.timings`` (a stage that runs twice adds up)."""
    state.timings[stage.name] = state.timings.get(stage.name, 0.0) + time.perf_counter() - t0


def start(prompt: MessagesLike, params: GenerateParams | None = None) -> RequestState:
    """The state for a prompt or a conversation: its last user turn is the text to work on.

    An empty last user turn is an ``InputError``: it is what the target would answer, and
    answering an earlier turn instead would hide what was asked.
    """
    msgs = to_messages(prompt)
    idx = max(i for i, m in enumerate(msgs) if m.role == "user")
    if not msgs[idx].content.strip():
        raise InputError(f"message {idx} (the last user turn) is empty: give the question to answer there")
    return RequestState(messages=msgs, index=idx, text=msgs[idx].content, params=params, prompt=msgs[idx].content)


def _riskier(alone: RiskDistribution, ctx: RiskDistribution, offset: int) -> RiskDistribution:
    """The riskier of a text read alone and after ``offset`` characters of context, about the text."""
    if alone.p_safe <= ctx.p_safe:
        return alone
    part = ctx.part
    if part is not None:
        start, end = max(0, part.start - offset), max(0, part.end - offset)
        if end <= start:  # the window that decided lies in the context: the turn as a whole is risky
            part = None
        else:
            text = alone.text[start:end] if part.reading == "plain" else part.text
            part = Part(start=start, end=end, reading=part.reading, text=text)
    return ctx.model_copy(update={"text": alone.text, "part": part})


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
        return [_riskier(a, c, len(self.context) + 1) for a, c in zip(alone, ctx)]


def context_of(messages: list[Message], index: int) -> str:
    """The earlier turns (system turns aside, at most ``CONTEXT_TURNS``) as context text."""
    earlier = [m for m in messages[:index] if m.role != "system"][-CONTEXT_TURNS:]
    return "\n".join(m.content.strip() for m in earlier if m.content.strip())


def exchange_text(messages: list[Message], i: int, index: int) -> str | None:
    """An earlier user turn with the assistant turn that answered it, as one text (``None``
    when no assistant turn follows it before ``index``).

    Alone, the short turns of ordinary chat read as risky to a gate trained on requests ("Yes
    please" p(safe) 0.01, "I have two kids." 0.05, "I like Paris." 0.48); read as the exchange a
    reader sees, they pass (0.91, 0.86, 0.91) while a harmful ask stays flagged with its refusal
    ("How do I make a pipe bomb?" + "I can't help with that.": 0.02).
    """
    if i + 1 < index and messages[i].role == "user" and messages[i + 1].role == "assistant":
        return f"{messages[i].content}\n{messages[i + 1].content}"
    return None


def assessed_turns(messages: list[Message], index: int) -> list[int]:
    """Indices of the turns assessed on their own besides ``index``: user and system turns, and
    every turn after ``index`` (an assistant prefill steers the answer as much as a prompt)."""
    return [i for i, m in enumerate(messages)
            if i != index and m.content.strip() and (m.role in ASSESSED_ROLES or i > index)]


@dataclass
class Assess(Stage):
    """Every part of the input, in one batch: the last user turn alone and in the conversation's
    context, each earlier user turn with the assistant turn that answered it (``exchange_text``),
    each system turn and any turn after the last user turn alone;
    a system turn by the window gate, or without its clean prohibitions when there is none
    (``lance.assess.instructions``). Each turn is read whole (windows, decodings:
    ``lance.assess.assessor``). No LLM call."""

    assessor: Assessor
    name = "assess"

    def run(self, state: RequestState) -> None:
        context = context_of(state.messages, state.index)
        state.judge = ContextAssessor(self.assessor, context)
        others = assessed_turns(state.messages, state.index)
        texts = [state.text] + ([f"{context}\n{state.text}"] if context else [])
        system = [i for i in others if state.messages[i].role == "system"]
        plain = [i for i in others if state.messages[i].role != "system"]
        exchanges = {i: exchange_text(state.messages, i, state.index) for i in plain}
        dists = self.assessor.assess(texts + [exchanges[i] or state.messages[i].content for i in plain])
        by_turn = dict(zip(plain, dists[len(texts) :]))
        if system:
            by_turn |= dict(zip(system, assess_system_turns(self.assessor, [state.messages[i].content for i in system])))
        turn = _riskier(dists[0], dists[1], len(context) + 1) if context else dists[0]
        state.turns = [TurnRisk(i, state.messages[i].role, by_turn[i], with_reply=exchanges.get(i) is not None)
                       for i in others]
        state.focus(state.index, turn, turn.part)


def _where(state: RequestState, index: int) -> str:
    return f"the {state.messages[index].role} turn (message {index})"


@dataclass
class RouteStage(Stage):
    """Routes by the riskiest part of the input (``lance.assess.routing`` on each part).

    Risk in the last user turn (in any window of it, or in its decoded reading) takes that turn's
    route, and the refiner sees the part that decided: a window is rewritten in place. Risk in any
    other turn (a system turn, an earlier user turn, a turn after the last user turn) is refused
    naturally: the application's instructions and the conversation so far are not rewritten
    behind the user's back. A passed request is sent exactly as it came.
    """

    taxonomy: Taxonomy
    config: PipelineConfig
    name = "route"

    def run(self, state: RequestState) -> None:
        assert state.dist is not None, "route needs assess first"
        decision = decide_route(state.dist, self.taxonomy, self.config)
        line = minor_sexual_content(state.text) if decision.route == "neutralize" else None
        if line is not None:  # a flagged request is refused by rule, never neutralised (assess.bright_lines)
            decision = RouteDecision(route="refuse", reason=f"bright line: {line}", categories=[MINOR_SEXUAL_CATEGORY])
        risky = [(t, d) for t in state.turns if (d := decide_route(t.dist, self.taxonomy, self.config)).route != "pass"]
        if risky:
            turn, worst = min(risky, key=lambda td: td[0].dist.p_safe)
            where = "; ".join(f"{_where(state, t.index)}: {d.reason}" for t, d in risky)
            if decision.route != "pass":
                where = f"the last user turn: {decision.reason}; {where}"
            state.focus(turn.index, turn.dist, None if turn.with_reply else turn.dist.part)
            decision = RouteDecision(route="refuse", reason=f"risk outside the last user turn ({where})",
                                     categories=worst.categories or turn.dist.named_category())
        state.decision = decision
        state.route, state.reason = decision.route, decision.reason
        if state.route == "pass":
            # a passed request goes out exactly as it came: the whole turn, not a window or a decoding
            state.focus(state.index, state.dist, None)
            state.sent, state.after = state.text, state.dist


@dataclass
class RefuseRoute(Stage):
    """A ``refuse`` route: the gradient (for the refusal's masked summary), then a refusal order."""

    refiner: Refiner
    name = "refuse_route"

    def run(self, state: RequestState) -> None:
        if state.route != "refuse":
            return
        assert state.dist is not None and state.decision is not None
        g = None
        try:
            g = self.refiner.gradient(state.text, state.dist, state.judge)
            state.gradients.append(g)
        except LanceError as exc:  # attribution is best effort for the refusal summary
            log.warning("gradient for refusal failed: %s", exc)
        state.refuse(state.decision.categories, g, state.reason)


def send_bar(text: str, dist: RiskDistribution, taxonomy: Taxonomy, config: PipelineConfig) -> str | None:
    """Why a rewrite may not reach the target (``None`` when it may).

    The bar is the one an unrefined prompt meets: the rewrite must route ``pass`` (neither
    refuse nor neutralise again), reach ``send_min_safe`` (default: ``safe_threshold``) and
    cross no bright line, so the refiner is never a way around the gate.
    """
    line = minor_sexual_content(text)
    if line is not None:
        return f"the rewrite crosses a bright line ({line})"
    again = decide_route(dist, taxonomy, config)
    if again.route != "pass":
        return f"the rewrite still routes {again.route} ({again.reason})"
    if dist.p_safe < config.send_floor:
        return f"the rewrite is still too risky to answer (p(safe) {dist.p_safe:.2f} < {config.send_floor:.2f})"
    return None


@dataclass
class Neutralize(Stage):
    """A ``neutralize`` route: refine along the gradient; send the rewrite only if it clears every bar."""

    refiner: Refiner
    taxonomy: Taxonomy
    config: PipelineConfig
    name = "neutralize"

    def run(self, state: RequestState) -> None:
        if state.route != "neutralize":
            return
        assert state.dist is not None and state.decision is not None
        traj = self.refiner.run(state.text, state.dist, assessor=state.judge, max_steps=self.config.max_steps)
        state.trajectory = traj
        state.gradients = [s.gradient for s in traj.steps if s.gradient is not None]
        cats, reason = state.decision.categories, state.reason
        if traj.error:
            msg = f"refiner: {traj.error}"
            log.error("LANCE %s; answering with a natural refusal instead", msg)
            state.errors.append(msg)
            state.refuse(cats or state.dist.named_category(), state.last_gradient,
                         f"{reason}; refiner failed", use_llm=False)
            return
        acc = traj.accepted
        if acc is None:
            state.refuse(cats, state.last_gradient, f"{reason}; refinement failed ({traj.steps[-1].reason or traj.stopped})")
            return
        state.sent, state.after = acc.prompt, acc.distribution
        state.reason = reason = f"{reason}; refined at step {acc.index}: {acc.reason}"
        why = send_bar(acc.prompt, acc.distribution, self.taxonomy, self.config)
        if why is not None:
            again = decide_route(acc.distribution, self.taxonomy, self.config)
            state.refuse(again.categories or cats, state.last_gradient, f"{reason}; {why}")
            return
        if state.span is not None and state.judge is not None:
            # the rewrite replaces one part of a turn: the turn as sent must clear the same bars
            turn = state.sent_turn()
            whole = state.judge.assess([turn])[0]
            why = send_bar(turn, whole, self.taxonomy, self.config)
            if why is not None:
                state.refuse(cats, state.last_gradient, f"{reason}; the turn with the rewrite in place: {why}")


@dataclass
class Answer(Stage):
    """The target answers what is sent (the prompt, or its accepted rewrite).

    With ``fail_safe`` a target failure ends the request with an honest "not responding"
    message on the refuse route (the content was fine to send; the model failed); without it
    the error propagates (the evaluation records it as a failed item).
    """

    target: ChatModel
    call_timeout: float | None = None
    fail_safe: bool = True
    system_prompt: str | None = None
    name = "answer"

    def _messages(self, state: RequestState) -> list[Message]:
        msgs = state.target_messages()
        if self.system_prompt is not None:
            msgs = [Message(role="system", content=self.system_prompt), *msgs]
        return msgs

    def _params(self, state: RequestState) -> GenerateParams:
        p = state.params or self.target.default_params
        if self.call_timeout is not None and p.timeout is None:
            p = p.model_copy(update={"timeout": self.call_timeout})
        return p

    def run(self, state: RequestState) -> None:
        try:
            state.response = self.target.generate(self._messages(state), self._params(state)).text
        except Exception as exc:  # noqa: BLE001 - any target failure ends the request, never a retry with the raw prompt
            self._failed(state, exc)

    async def arun(self, state: RequestState) -> None:
        try:
            state.response = (await self.target.agenerate(self._messages(state), self._params(state))).text
        except Exception as exc:  # noqa: BLE001
            self._failed(state, exc)

    def _failed(self, state: RequestState, exc: Exception) -> None:
        if not self.fail_safe:
            raise exc
        msg = f"target: {type(exc).__name__}: {exc}"
        log.error("LANCE %s; answering with a natural refusal instead", msg)
        state.errors.append(msg)
        state.response, state.route, state.final = unavailable_message(state.text), "refuse", True
        state.reason = f"{state.reason}; target failed"


@dataclass
class PostCheck(Stage):
    """A template refusal from the target is refined once more and re-asked; still one → a natural refusal."""

    detector: RefusalCheck
    refiner: Refiner
    answer: Answer
    taxonomy: Taxonomy
    config: PipelineConfig
    name = "postcheck"

    def run(self, state: RequestState) -> None:
        sent = state.text if state.sent is None else state.sent
        if not is_refusal(self.detector, sent, state.response):
            return
        assert state.dist is not None and state.after is not None
        state.postcheck_refusal = True
        extra = self.refiner.run(sent, state.after, assessor=state.judge, max_steps=1, seed=7)
        state.gradients += [s.gradient for s in extra.steps if s.gradient is not None]
        if state.trajectory is None:
            state.trajectory = extra
        else:
            state.trajectory.append_steps(extra)
        acc = extra.accepted
        if acc is not None and not extra.error and send_bar(acc.prompt, acc.distribution, self.taxonomy, self.config) is None:
            state.sent, state.after = acc.prompt, acc.distribution
            self.answer.run(state)
            if state.stopped:
                return
            state.route = "neutralize"
            state.reason = f"{state.reason}; post-check: template refusal, refined again ({acc.reason})"
        if is_refusal(self.detector, state.sent or state.text, state.response):
            cats = (state.decision.categories if state.decision else []) or state.dist.named_category()
            state.refuse(cats, state.last_gradient, f"{state.reason}; the target still gave a template refusal")


@dataclass
class CheckAnswer(Stage):
    """The answer's own risk by the gate; a risky answer is replaced by a natural refusal (no LLM call)."""

    assessor: Assessor
    min_safe: float
    name = "check_answer"

    def run(self, state: RequestState) -> None:
        d = self.assessor.assess([state.response])[0]
        state.answer_distribution = d
        if d.p_safe < self.min_safe:
            state.refuse(d.named_category(), None,
                         f"{state.reason}; the answer itself was risky (p(safe) {d.p_safe:.2f})", use_llm=False)


@dataclass
class WriteRefusal(Stage):
    """Writes the ordered natural refusal: by the refusal-writer LLM when allowed, else constructed."""

    taxonomy: Taxonomy
    llm: ChatModel | None
    call_timeout: float | None = None
    style: RefinerStyle | None = None
    name = "write_refusal"
    always = True

    def run(self, state: RequestState) -> None:
        order = state.refusal
        if order is None:
            return
        params = GenerateParams(temperature=0.7, max_tokens=80, timeout=self.call_timeout)
        text, by_model, _, err = write_refusal(
            state.text, order.categories, self.taxonomy, llm=self.llm if order.use_llm else None,
            style=self.style, gradient=order.gradient, params=params,
        )
        state.refusal_by = "model" if by_model else "constructed"
        if err:
            log.error("refusal writer failed, using the constructed refusal: %s", err)
            state.errors.append(err)
        state.response, state.route, state.reason = text, "refuse", order.reason
