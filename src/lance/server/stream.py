"""Server-sent events in OpenAI's ``chat.completion.chunk`` format.

The pipeline decides the route (and may refine) before the target answers, so
the answer is complete when streaming starts; it is sent word by word so that
streaming clients work unchanged. Waiting for the result first also means an
upstream failure is still a proper 502/504 status, not an error inside a 200
stream. Order of events::

    data: {... "delta": {"role": "assistant", "content": ""} ...}
    data: {... "delta": {"content": "Hello"} ...}           (one per word)
    data: {... "delta": {}, "finish_reason": "stop", "lance": {...}}
    data: {... "choices": [], "usage": {...}}               (only with stream_options.include_usage)
    data: [DONE]
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

_WORD = re.compile(r"\s*\S+\s*|\s+")

DONE = b"data: [DONE]\n\n"


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


def pieces(text: str) -> list[str]:
    """Split text into word-sized deltas whose concatenation is exactly ``text``."""
    return _WORD.findall(text)


async def chunk_events(
    *,
    completion_id: str,
    created: int,
    model: str,
    text: str,
    finish_reason: str,
    lance: dict[str, Any],
    usage: dict[str, int],
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """Yield the SSE byte events of one streamed completion, ending with ``[DONE]``."""
    head: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
    head["system_fingerprint"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = dict(head)
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if include_usage:
            body["usage"] = None
        body.update(extra)
        return sse(body)

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(text):
        yield chunk({"content": piece})
    yield chunk({}, finish_reason, lance=lance)
    if include_usage:
        yield sse(head | {"choices": [], "usage": usage})
    yield DONE
