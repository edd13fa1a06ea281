"""Any OpenAI-compatible chat-completions server: vLLM, Ollama, llama.cpp's
server, TGI, hosted APIs. The production path, and the way to scale past one
machine.

The official ``openai`` client does the HTTP work, including retries with
exponential backoff on connection errors, 408/409/429 and 5xx; this module maps
its exceptions onto LANCE's error tree.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from lance.backends.base import ChatModel, Completion, GenerateParams, Message, Usage
from lance.backends.prompting import STOP_SEQUENCES, clean_completion, render_completion_prompt
from lance.errors import BackendResponseError, BackendTimeout, BackendUnavailable, ConfigError


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
            "max_retries": max_retries,
        }
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
        if params.timeout is not None:
            req["timeout"] = params.timeout
        return req

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
        if isinstance(exc, o.APIStatusError):
            return BackendResponseError(
                f"{self.base_url} answered HTTP {exc.status_code}: {str(exc.message)[:200]}", status_code=exc.status_code
            )
        if isinstance(exc, o.APIError):
            return BackendResponseError(f"{self.base_url} returned an unusable answer: {str(exc)[:200]}")
        return exc

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        try:
            api = self._client.completions if self.prompt_format == "completion" else self._client.chat.completions
            resp = api.create(**self._request(messages, params))
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # a body that is not JSON (JSONDecodeError is a ValueError)
            raise BackendResponseError(f"{self.base_url} returned a body that is not valid JSON") from exc
        return self._completion(resp)

    async def _agenerate(self, messages: list[Message], params: GenerateParams) -> Completion:
        try:
            client = self._async_client()
            api = client.completions if self.prompt_format == "completion" else client.chat.completions
            resp = await api.create(**self._request(messages, params))
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # a body that is not JSON (JSONDecodeError is a ValueError)
            raise BackendResponseError(f"{self.base_url} returned a body that is not valid JSON") from exc
        return self._completion(resp)

    def close(self) -> None:
        self._client.close()
