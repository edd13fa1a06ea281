"""Wire schemas: OpenAI's chat-completions request/response plus LANCE's own endpoints.

Requests are validated strictly (no ``"0.5"`` for a number, no ``"yes"`` for a
bool) so wrong types are 400s, but unknown extra fields are accepted and
ignored, as OpenAI-compatible servers (vLLM, llama.cpp) do: clients send
``frequency_penalty``, ``user``, ``logit_bias`` and the like as a matter of course.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from lance.backends import Message

_IN = ConfigDict(strict=True, extra="allow")


def valid_text(text: str, what: str = "text") -> str:
    """``text`` if it is valid Unicode; JSON's ``"\\ud800"`` decodes to a lone surrogate, which no model can read."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} is not valid Unicode: an unpaired surrogate ({text[exc.start]!r}) at character {exc.start}"
        ) from None
    return text

#: Roles the pipeline understands; ``developer`` is OpenAI's newer name for ``system``.
InputRole = Literal["system", "developer", "user", "assistant"]


class TextPart(BaseModel):
    """A ``{"type": "text", "text": ...}`` content part; other part types are refused."""

    model_config = _IN

    type: Literal["text"]
    text: str


class ChatMessageIn(BaseModel):
    model_config = _IN

    role: InputRole
    content: str | list[TextPart] | None = None
    name: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _unicode(cls, v: Any) -> Any:
        # before the str | parts union, so the client reads this reason, not the union's type errors
        texts = [v] if isinstance(v, str) else [p.get("text") for p in v if isinstance(p, dict)] if isinstance(v, list) else []
        for text in texts:
            if isinstance(text, str):
                valid_text(text, "content")
        return v

    @model_validator(mode="after")
    def _content_present(self) -> ChatMessageIn:
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a {self.role} message needs content")
        return self

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)

    def to_message(self) -> Message:
        role = "system" if self.role == "developer" else self.role
        return Message(role=role, content=self.text())


#: JSON-schema form of "at least one non-empty user message", so spec-driven clients and fuzzers know it.
_USER_TURN: dict[str, Any] = {
    "type": "object",
    "properties": {"role": {"const": "user"}, "content": {"type": "string", "pattern": "\\S"}},
    "required": ["role", "content"],
}


class StreamOptions(BaseModel):
    model_config = _IN

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``; forwarded: temperature, top_p, max_tokens, stop, seed."""

    model_config = _IN

    model: str | None = Field(default=None, max_length=256)
    messages: list[ChatMessageIn] = Field(
        min_length=1,
        description="The conversation; at least one user message with non-empty text.",
        json_schema_extra={"contains": _USER_TURN},
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    #: OpenAI's newer name for ``max_tokens``; the smaller of the two wins when both are given.
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32768)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1 choice is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    tools: None = Field(default=None, description="Not supported: a request with tools is refused with 400.")
    functions: None = Field(default=None, description="Not supported (the legacy form of tools): refused with 400.")

    @field_validator("tools", "functions", mode="before")
    @classmethod
    def _no_tools(cls, v: Any, info: ValidationInfo) -> None:
        if v is not None:
            raise ValueError(f"{info.field_name} are not supported: LANCE answers with text only; send the request without them")
        return None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences are allowed")
        if isinstance(v, list) and any(not s for s in v) or v == "":
            raise ValueError("stop sequences must be non-empty strings")
        for stop in [v] if isinstance(v, str) else v or []:
            valid_text(stop, "a stop sequence")
        return v

    @model_validator(mode="after")
    def _has_user_turn(self) -> ChatCompletionRequest:
        if not any(m.role == "user" and m.text().strip() for m in self.messages):
            raise ValueError("messages must contain at least one non-empty user message")
        return self

    def to_messages(self) -> list[Message]:
        return [m.to_message() for m in self.messages]

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def token_limit(self) -> int | None:
        given = [v for v in (self.max_tokens, self.max_completion_tokens) if v is not None]
        return min(given) if given else None


# --- responses -------------------------------------------------------------------


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class DistributionOut(BaseModel):
    """A risk distribution without the text it was computed on (which may be the hidden refined prompt)."""

    distribution: dict[str, float]
    confidence: float
    top: str
    risk: float


class DistributionPair(BaseModel):
    before: DistributionOut | None = None
    #: Present only when the prompt was refined.
    after: DistributionOut | None = None


class CallErrorOut(BaseModel):
    """One failed LLM call behind an answer: who made it and which error (its message only with debug)."""

    role: str
    error: str
    message: str | None = None


class LanceMeta(BaseModel):
    """LANCE's extra ``lance`` field: how the request was handled."""

    route: str
    #: Why the route was taken; probabilities masked unless ``server.expose_risk``.
    reason: str = ""
    refined: bool
    #: Only with ``server.expose_risk`` (or ``server.debug``).
    distribution: DistributionPair | None = None
    llm_calls: int
    #: Only with ``server.expose_refined_prompt`` or ``server.debug``.
    refined_prompt: str | None = None
    #: Only with ``server.expose_gradients`` or ``server.debug``.
    gradients: list[Any] | None = None
    #: Only with ``server.debug``.
    trajectory: Any | None = None
    #: Every LLM call (role, model, tokens, latency, error); only with ``server.debug``.
    calls: list[Any] | None = None
    #: Backend failures this answer absorbed (a refiner outage ended in a natural refusal); absent when none.
    errors: list[CallErrorOut] | None = None



class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: UsageOut
    lance: LanceMeta


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: None = None
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` event of a streamed completion; the last one with choices carries ``lance``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChunkChoice]
    usage: UsageOut | None = None
    lance: LanceMeta | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "lance"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssessRequest(BaseModel):
    """``POST /v1/lance/assess``: one text or a batch (at most 64)."""

    model_config = _IN

    input: str | list[str] = Field(description="Text (or texts) to assess.")

    @field_validator("input")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        texts = [v] if isinstance(v, str) else v
        if not texts:
            raise ValueError("input must not be an empty list")
        if len(texts) > 64:
            raise ValueError("at most 64 texts per request")
        if any(not t.strip() for t in texts):
            raise ValueError("input texts must not be empty")
        for t in texts:
            valid_text(t, "input")
        return v

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class AssessItem(BaseModel):
    """Same fields as ``lance assess --jsonl``, plus the item's index."""

    index: int
    text: str
    distribution: dict[str, float]
    confidence: float
    top: str
    risk: float
    truncated: bool


class AssessResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[AssessItem]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    model: str
    in_flight: int
    queued: int
    #: Requests answered with an upstream error status (502, 504, 429 from the upstream, 400 context overflow).
    upstream_errors: int = 0
    #: Requests answered 200 with a natural refusal after a refiner-side outage (``lance.errors`` says so).
    degraded: int = 0
