"""A scripted chat model: replies come from a list or a function.

A test double for logic tests of the pipeline and for faults that cannot be
caused with a real model (e.g. a backend that raises on the third call). Real
behaviour is tested with the llama.cpp and HTTP backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lance.backends.base import ChatModel, Completion, GenerateParams, Message, Usage

Reply = str | Exception
ReplyFn = Callable[[list[Message]], Reply]


class ScriptedChatModel(ChatModel):
    """Answers with scripted replies; an ``Exception`` reply is raised instead."""

    name = "scripted"

    def __init__(self, replies: Iterable[Reply] | ReplyFn, params: GenerateParams | None = None) -> None:
        super().__init__(params)
        self._fn: ReplyFn | None = replies if callable(replies) else None
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self.calls: list[list[Message]] = []

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        self.calls.append(messages)
        if self._fn is not None:
            reply = self._fn(messages)
        elif self._queue:
            reply = self._queue.pop(0)
        else:
            raise RuntimeError("ScriptedChatModel ran out of scripted replies")
        if isinstance(reply, Exception):
            raise reply
        words = sum(len(m.content.split()) for m in messages)
        return Completion(
            text=reply, usage=Usage(prompt_tokens=words, completion_tokens=len(reply.split())), model=self.name
        )
