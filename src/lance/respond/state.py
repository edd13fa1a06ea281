"""The one state object every stage reads and writes, from the incoming prompt to the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lance.assess.distribution import Assessor, Part, RiskDistribution
from lance.assess.routing import RouteDecision
from lance.backends.base import GenerateParams, Message
from lance.backends.events import CallEvent
from lance.config.pipeline import Route
from lance.gradients.gradient import TextualGradient
from lance.refine.trajectory import Trajectory
from lance.result import RefusalBy


@dataclass
class RefusalOrder:
    """A natural refusal the last stage must write: for which categories, from which gradient, and why."""

    categories: list[str]
    gradient: TextualGradient | None
    reason: str
    #: ``False``: construct it without an LLM call (after a refiner failure, or for a risky answer).
    use_llm: bool = True


@dataclass(frozen=True)
class TurnRisk:
    """One turn other than the last user turn, assessed on its own (all of it, decoded where encoded)."""

    index: int
    role: str
    dist: RiskDistribution
    #: Read together with the assistant turn that answered it (``exchange_text``): ``dist``'s
    #: part is then a span of that exchange, not of the turn.
    with_reply: bool = False


@dataclass
class RequestState:
    """One request on its way through a chain of stages.

    ``text`` is what is assessed and refined: the prompt, or the last user turn of a
    conversation at ``index`` — or, once routing has found the risk in one part of the input, that
    part (a window of a long turn at ``span``, the decoded reading of an encoded one, or another
    turn). ``sent`` is what the target answers in its place. A stage that decides the request
    must end in a refusal sets ``refusal``; one that ends it otherwise sets ``final``. Either
    stops the stages after it, except the refusal writer.
    """

    messages: list[Message]
    index: int
    text: str
    params: GenerateParams | None = None
    #: The last user turn, as given: what the result reports as the prompt.
    prompt: str = ""
    #: Character span of ``messages[index]`` that ``text`` stands for (``None``: the whole turn).
    span: tuple[int, int] | None = None
    #: Every other assessed turn (system turns, earlier user turns, turns after the last user turn).
    turns: list[TurnRisk] = field(default_factory=list)
    #: Assesses a text in the conversation's context (``ContextAssessor``); set by the assess stage.
    judge: Assessor | None = None
    dist: RiskDistribution | None = None
    decision: RouteDecision | None = None
    route: Route | None = None
    reason: str = ""
    gradients: list[TextualGradient] = field(default_factory=list)
    trajectory: Trajectory | None = None
    sent: str | None = None
    after: RiskDistribution | None = None
    response: str = ""
    postcheck_refusal: bool = False
    answer_distribution: RiskDistribution | None = None
    errors: list[str] = field(default_factory=list)
    refusal: RefusalOrder | None = None
    #: Who wrote the refusal: the refiner model, or the constructed fallback.
    refusal_by: RefusalBy | None = None
    #: The request ended without a refusal to write (e.g. the target failed: an honest message).
    final: bool = False
    #: Every LLM call made for this request (filled by the chain's recorder).
    calls: list[CallEvent] = field(default_factory=list)
    #: Wall seconds per stage that ran, by stage name (filled by the chain).
    timings: dict[str, float] = field(default_factory=dict)
    #: Stage-specific facts a method reports (self-critique drafts, block decisions, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stopped(self) -> bool:
        return self.final or self.refusal is not None

    def focus(self, index: int, dist: RiskDistribution, part: Part | None) -> None:
        """Work on ``part`` of the turn at ``index`` (the whole turn when ``None``) from now on."""
        turn = self.messages[index].content
        self.index, self.dist = index, dist
        self.span = None if part is None else (part.start, part.end)
        self.text = turn if part is None else part.text

    def sent_turn(self) -> str:
        """The focused turn as the target receives it: ``sent`` in place of the focused span."""
        sent = self.text if self.sent is None else self.sent
        if self.span is None:
            return sent
        turn = self.messages[self.index].content
        return turn[: self.span[0]] + sent + turn[self.span[1] :]

    def target_messages(self) -> list[Message]:
        """The conversation with the focused turn (or span of it) replaced by what is sent."""
        role = self.messages[self.index].role
        return [*self.messages[: self.index], Message(role=role, content=self.sent_turn()), *self.messages[self.index + 1 :]]

    def refuse(self, categories: list[str], gradient: TextualGradient | None, reason: str, *, use_llm: bool = True) -> None:
        self.refusal = RefusalOrder(categories=categories, gradient=gradient, reason=reason, use_llm=use_llm)

    @property
    def last_gradient(self) -> TextualGradient | None:
        return self.gradients[-1] if self.gradients else None
