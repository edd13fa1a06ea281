"""Any OpenAI-compatible chat-completions server: vLLM, Ollama, llama.cpp's
server, TGI, hosted APIs. The production path, and the way to scale past one
machine.

The official ``openai`` client does the HTTP work; ``tenacity`` retries what is worth retrying
(connection errors, 408/409/429 and 5xx) with exponential backoff, honouring ``Retry-After``.
The retries are ours, not the client's, so that they share one budget: each attempt's timeout is
what is left of the request's (``deadline``), and no retry starts, nor backoff sleeps, past it.
This module maps the client's exceptions onto LANCE's error tree: 429 is ``BackendRateLimited``
(with the upstream's ``Retry-After``), a prompt over the model's context is ``ContextOverflow``.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import re
import time
from typing import Any, Literal

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any

from lance.backends.base import ChatModel, Completion, GenerateParams, Message, Usage
from lance.backends.deadline import call_timeout, time_left
from lance.backends.prompting import STOP_SEQUENCES, clean_completion, render_completion_prompt
from lance.errors import (
    BackendRateLimited,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ContextOverflow,
)

#: Backoff between attempts (seconds): 0.5, 1, 2, ... up to 8, less up to 25% jitter (the openai client's).
INITIAL_BACKOFF_S, MAX_BACKOFF_S = 0.5, 8.0
#: A ``Retry-After`` longer than this is not waited for: the error goes back to the caller.
MAX_RETRY_AFTER_S = 60.0
_RETRY_STATUSES = frozenset({408, 409, 429})
_CONTEXT = re.compile(r"context (?:length|window)|maximum context|too many tokens|prompt is too long", re.IGNORECASE)


def retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header: a number or an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    try:
        if ms is not None:
            return max(0.0, float(ms) / 1000)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - time.time())


class OpenAICompatChatModel(ChatModel):
    """Chat model behind an OpenAI-compatible HTTP endpoint.

    ``prompt_format="completion"`` serves base models (no chat template) through
    ``/v1/completions`` with the same few-shot transcript the llama.cpp backend uses.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        prompt_format: Literal["chat", "completion"] = "chat",
        params: GenerateParams | None = None,
    ) -> None:
        super().__init__(params)
        if not base_url:
            raise ConfigError("the openai backend needs backend.base_url, e.g. http://localhost:8000/v1")
        import openai

        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai/{model}"
        self.prompt_format = prompt_format
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": api_key or "not-needed",
            "timeout": timeout,
            "max_retries": 0,  # retried here, within the request's budget (module docstring)
        }
        self.timeout = timeout
        self.max_retries = max_retries
        self._kwargs = kwargs
        self._client = openai.OpenAI(**kwargs)
        self._aclient: Any = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None

    def _async_client(self) -> Any:
        """An async client bound to the running loop (its connection pool cannot cross loops)."""
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient_loop is not loop:
            self._aclient = self._openai.AsyncOpenAI(**self._kwargs)
            self._aclient_loop = loop
        return self._aclient

    def _request(self, messages: list[Message], params: GenerateParams) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        stop = list(params.stop)
        if self.prompt_format == "completion":
            req["prompt"] = render_completion_prompt(messages)
            stop = list(STOP_SEQUENCES) + stop
        else:
            req["messages"] = [m.model_dump() for m in messages]
        if stop:
            req["stop"] = stop
        if params.seed is not None:
            req["seed"] = params.seed
        return req

    def _attempt(self, messages: list[Message], params: GenerateParams) -> dict[str, Any]:
        """One attempt's request, its timeout cut to the request's remaining budget."""
        req = self._request(messages, params)
        req["timeout"] = call_timeout(params.timeout or self.timeout, f"{self.base_url} was called")
        return req

    # --- retries: which failures, how long to wait, when to stop
    def _retryable(self, exc: BaseException) -> bool:
        o = self._openai
        if isinstance(exc, o.APIConnectionError):  # timeouts included
            return True
        if isinstance(exc, o.APIStatusError):
            should = exc.response.headers.get("x-should-retry")
            if should in ("true", "false"):
                return should == "true"
            return exc.status_code in _RETRY_STATUSES or exc.status_code >= 500
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = retry_after(getattr(getattr(exc, "response", None), "headers", None))
        if after is not None:
            return after
        backoff = min(INITIAL_BACKOFF_S * 2 ** (state.attempt_number - 1), MAX_BACKOFF_S)
        return backoff * (1 - 0.25 * random.random())

    @staticmethod
    def _out_of_budget(state: RetryCallState) -> bool:
        """No retry when its wait alone is too long, or would end past the request's deadline."""
        if state.upcoming_sleep > MAX_RETRY_AFTER_S:
            return True
        left = time_left()
        return left is not None and left - state.upcoming_sleep <= 0

    def _retrying(self, kind: type[Retrying] | type[AsyncRetrying]) -> Any:
        return kind(
            retry=retry_if_exception(self._retryable),
            wait=self._wait,
            stop=stop_any(stop_after_attempt(self.max_retries + 1), self._out_of_budget),
            reraise=True,
        )

    def _completion(self, resp: Any) -> Completion:
        try:
            choice = resp.choices[0]
            if self.prompt_format == "completion":
                text = clean_completion(choice.text or "")
            else:
                text = choice.message.content or ""
        except (AttributeError, IndexError, TypeError):
            raise BackendResponseError(f"{self.base_url} returned a body without a usable choices[0]") from None
        usage = getattr(resp, "usage", None)
        return Completion(
            text=text.strip(),
            usage=Usage(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            ),
            finish_reason=getattr(choice, "finish_reason", None),
            model=getattr(resp, "model", None) or self.name,
        )

    def _translate(self, exc: Exception) -> Exception:
        o = self._openai
        if isinstance(exc, o.APITimeoutError):
            return BackendTimeout(f"{self.base_url} did not answer in time; raise backend.timeout or check the server's load")
        if isinstance(exc, o.APIConnectionError):
            return BackendUnavailable(f"cannot reach {self.base_url}: is the server running and the URL right?")
        if isinstance(exc, o.APIStatusError) and exc.status_code == 429:
            return BackendRateLimited(
                f"{self.base_url} is rate limiting (HTTP 429): {str(exc.message)[:200]}", retry_after(exc.response.headers)
            )
        if isinstance(exc, o.APIStatusError) and exc.status_code in (400, 413) and (
            getattr(exc, "code", None) == "context_length_exceeded" or _CONTEXT.search(str(exc.message))
        ):
            return ContextOverflow(f"the prompt does not fit the model's context at {self.base_url}: {str(exc.message)[:200]}")
        if isinstance(exc, o.APIStatusError):
            return BackendResponseError(
                f"{self.base_url} answered HTTP {exc.status_code}: {str(exc.message)[:200]}", status_code=exc.status_code
            )
        if isinstance(exc, o.APIError):
            return BackendResponseError(f"{self.base_url} returned an unusable answer: {str(exc)[:200]}")
        return exc

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        api = self._client.completions if self.prompt_format == "completion" else self._client.chat.completions
        try:
            resp = self._retrying(Retrying)(lambda: api.create(**self._attempt(messages, params)))
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # a body that is not JSON (JSONDecodeError is a ValueError)
            raise BackendResponseError(f"{self.base_url} returned a body that is not valid JSON") from exc
        return self._completion(resp)

    async def _agenerate(self, messages: list[Message], params: GenerateParams) -> Completion:
        client = self._async_client()
        api = client.completions if self.prompt_format == "completion" else client.chat.completions
        async def attempt() -> Any:  # a coroutine function, so tenacity awaits each attempt
            return await api.create(**self._attempt(messages, params))

        try:
            resp = await self._retrying(AsyncRetrying)(attempt)
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # a body that is not JSON (JSONDecodeError is a ValueError)
            raise BackendResponseError(f"{self.base_url} returned a body that is not valid JSON") from exc
        return self._completion(resp)

    def close(self) -> None:
        self._client.close()
