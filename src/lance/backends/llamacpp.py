"""llama.cpp backend (llama-cpp-python) on any GGUF file; the embedded default.

Base models (no instruction tuning, like the default Gemma 3 270M) are driven
with a completion-style transcript (see ``prompting``); models that ship a chat
template use it; ``raw`` sends the last user message verbatim (a model trained on
its own prompt format, like LANCE's refiner adapter). A GGUF LoRA adapter
(``lora_path``) is applied to the whole model at load. One ``Llama`` context is
not thread-safe, so calls are serialised with a lock; async calls run in a
worker thread.

Every call has a deadline: its own timeout, else the backend's default (``backend.timeout``,
else ``DEFAULT_TIMEOUT_S``), cut to the request's remaining budget (``deadline``). Waiting for
the lock counts, and generation stops at the first token past the deadline.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

from lance.assets import check_gguf, default_gguf_path
from lance.backends.base import ChatModel, Completion, GenerateParams, Message, Usage
from lance.backends.prompting import STOP_SEQUENCES, clean_completion, render_completion_prompt
from lance.backends.deadline import call_timeout
from lance.errors import BackendTimeout, ContextOverflow, ModelFileError

PromptFormat = Literal["auto", "chat", "completion", "raw"]

#: Deadline of a call that names none and whose backend has no default (``BackendConfig.timeout``'s default).
DEFAULT_TIMEOUT_S = 120.0

_GGML_LOG_LEVEL_ERROR = 4
_quiet_callback: Any = None


def _quiet_llama_logs() -> None:
    """Let only llama.cpp's errors through to stderr (its info lines clutter CLI output)."""
    global _quiet_callback
    if _quiet_callback is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _cb(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_LEVEL_ERROR:
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    _quiet_callback = _cb  # keep a reference: ctypes callbacks must outlive their use
    llama_cpp.llama_log_set(_cb, ctypes.c_void_p(0))


def _raw_prompt(messages: list[Message]) -> str:
    users = [m.content for m in messages if m.role == "user"]
    if not users:
        raise BackendResponseError("prompt_format 'raw' needs a user message: its text is the model's whole input")
    return users[-1]


class LlamaCppChatModel(ChatModel):
    """Chat model running in-process on a GGUF file with llama.cpp."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        prompt_format: PromptFormat = "auto",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        params: GenerateParams | None = None,
        lora_path: str | Path | None = None,
    ) -> None:
        super().__init__(params)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelFileError(
                "llama-cpp-python is not installed: run the README's setup command or `pip install llama-cpp-python`"
            ) from None
        _quiet_llama_logs()
        embedded = model_path is None
        path = default_gguf_path() if embedded else check_gguf(Path(model_path))
        lora = None if lora_path is None else Path(lora_path)
        if lora is not None and not lora.is_file():
            raise ModelFileError(f"LoRA adapter not found: {lora}")
        self.model_path, self.lora_path = path, lora
        self.name = f"llamacpp/{path.stem}" + (f"+{lora.stem}" if lora is not None else "")
        self._lock = threading.Lock()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or max(1, os.cpu_count() or 1),
                seed=seed,
                lora_path=None if lora is None else str(lora),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"llama.cpp could not load {path}: {exc}; check the file is a complete, valid GGUF") from None
        if prompt_format == "auto":
            # The embedded default is a base model; other GGUFs use their template when they ship one.
            has_template = bool(self._llm.metadata.get("tokenizer.chat_template"))
            prompt_format = "completion" if embedded or not has_template else "chat"
        self.prompt_format: Literal["chat", "completion", "raw"] = prompt_format
        self.n_ctx = n_ctx

    def _timeout(self, params: GenerateParams) -> float:
        """This call's seconds: its own timeout or the backend's default, within the request's budget."""
        own = params.timeout or self.default_params.timeout or DEFAULT_TIMEOUT_S
        left = call_timeout(own, f"{self.name} was called")
        assert left is not None
        return left

    def _deadline_criteria(self, deadline: float) -> tuple[Any, dict[str, bool]]:
        from llama_cpp import StoppingCriteriaList

        flag = {"timed_out": False}

        def past_deadline(_tokens: Any, _logits: Any) -> bool:
            if time.monotonic() > deadline:
                flag["timed_out"] = True
                return True
            return False

        return StoppingCriteriaList([past_deadline]), flag

    def _fit_prompt(self, prompt: str, max_tokens: int) -> int:
        n = len(self._llm.tokenize(prompt.encode("utf-8"), add_bos=True))
        if n + 1 >= self.n_ctx:
            raise ContextOverflow(
                f"prompt is {n} tokens but the context window is {self.n_ctx}; shorten the prompt or raise backend.n_ctx"
            )
        return min(max_tokens, self.n_ctx - n - 1)

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        timeout = self._timeout(params)
        criteria, flag = self._deadline_criteria(time.monotonic() + timeout)
        common: dict[str, Any] = {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stopping_criteria": criteria,
        }
        if not self._lock.acquire(timeout=timeout):
            raise BackendTimeout(f"{self.name} was busy with other calls for {timeout:.1f}s; raise the timeout or lower the load")
        try:
            if params.seed is not None:
                # Reusing the KV cache of a shared prefix evaluates the prompt in different
                # batches, which shifts logits slightly; a seeded call must be reproducible.
                self._llm.reset()
            if self.prompt_format in ("completion", "raw"):
                raw = self.prompt_format == "raw"
                prompt = _raw_prompt(messages) if raw else render_completion_prompt(messages)
                max_tokens = self._fit_prompt(prompt, params.max_tokens)
                stop = list(params.stop) if raw else list(STOP_SEQUENCES) + list(params.stop)
                out = self._llm.create_completion(prompt, max_tokens=max_tokens, stop=stop or None, **common)
                text = out["choices"][0]["text"].strip() if raw else clean_completion(out["choices"][0]["text"])
            else:
                try:
                    out = self._llm.create_chat_completion(
                        messages=[m.model_dump() for m in messages],
                        max_tokens=params.max_tokens,
                        stop=list(params.stop) or None,
                        **common,
                    )
                except ValueError as exc:
                    if "exceed context window" in str(exc):  # llama-cpp-python's message for an oversized prompt
                        raise ContextOverflow(f"{exc}; shorten the prompt or raise backend.n_ctx") from None
                    raise
                text = (out["choices"][0]["message"].get("content") or "").strip()
        finally:
            self._lock.release()
        if flag["timed_out"]:
            raise BackendTimeout(f"{self.name} did not finish within {timeout:.1f}s; raise the timeout or lower max_tokens")
        usage = out.get("usage") or {}
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            finish_reason=out["choices"][0].get("finish_reason"),
            model=self.name,
        )

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None  # type: ignore[assignment]
