"""Hugging Face transformers backend: a local checkpoint folder, or a GGUF file dequantised.

For checkpoints llama.cpp cannot run, or when the exact weights of a training run
(``save_pretrained``) are to be served. ``model_path`` is a folder with a ``config.json``
or a ``.gguf`` file; ``None`` is the packaged Gemma 3 270M GGUF, which transformers
loads dequantised to fp32 (slower than llama.cpp on CPU, same weights).

Prompts follow the llama.cpp backend: the tokenizer's chat template when it has one,
else the completion transcript of ``prompting`` (the packaged model is a base model and
its GGUF carries no template). One model answers one call at a time (a lock), so a seed
makes a call reproducible; async calls run in a worker thread. Everything runs on CPU, on
torch's thread pool, which is process-wide: ``n_threads``, when given, sets it for the whole
process (the gate's encoder included).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

from lance.assets import check_gguf, default_gguf_path
from lance.backends.base import ChatModel, Completion, GenerateParams, Message, Usage
from lance.backends.prompting import STOP_SEQUENCES, clean_completion, render_completion_prompt
from lance.errors import BackendResponseError, BackendTimeout, BackendUnavailable, ConfigError, InputError, ModelFileError

PromptFormat = Literal["auto", "chat", "completion"]

#: Stop-string matchers kept per backend: building one scans the whole vocabulary (about 3 s
#: for Gemma's 262k tokens on 2 busy cores, even with transformers' own cache), matching is cheap.
_STOP_MATCHERS = 8


def resolve_checkpoint(model_path: str | Path | None) -> tuple[Path, str | None]:
    """``(folder, gguf file name or None)`` for ``from_pretrained``; a path that cannot be one fails here, named."""
    if model_path is None:
        gguf = default_gguf_path()
        return gguf.parent, gguf.name
    path = Path(model_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelFileError(
                f"{path} is not a Hugging Face checkpoint folder (no config.json); point backend.model_path at a "
                "folder written by save_pretrained or at a .gguf file"
            )
        return path, None
    if path.is_file():
        gguf = check_gguf(path)
        return gguf.parent, gguf.name
    raise ModelFileError(
        f"transformers checkpoint not found: {path} (set backend.model_path to a checkpoint folder or a .gguf file)"
    )


class TransformersChatModel(ChatModel):
    """Chat model running in-process with transformers on a local checkpoint folder or GGUF file."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        prompt_format: PromptFormat = "auto",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        params: GenerateParams | None = None,
    ) -> None:
        super().__init__(params)
        try:
            import torch
            from safetensors import SafetensorError
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError:
            raise ModelFileError(
                "the transformers backend needs torch and transformers: reinstall LANCE (`pip install -e .`)"
            ) from None
        self._torch = torch
        if n_threads is not None:
            torch.set_num_threads(n_threads)
        embedded = model_path is None
        folder, gguf_file = resolve_checkpoint(model_path)
        where = folder / gguf_file if gguf_file else folder
        self.model_path = where
        self.name = f"transformers/{where.stem if gguf_file else where.name}"
        hf_logging.disable_progress_bar()
        load: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **load)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"transformers could not load the tokenizer of {where}: {exc}") from exc
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if prompt_format == "chat" and not has_template:
            raise ConfigError(
                f"backend.prompt_format is chat but the tokenizer of {where} has no chat template; "
                "use auto or completion"
            )
        if prompt_format == "auto":
            # The packaged model is a base model; other checkpoints use their template when they ship one.
            prompt_format = "chat" if has_template and not embedded else "completion"
        self.prompt_format: Literal["chat", "completion"] = prompt_format
        try:
            # GGUF weights are dequantised: fp32 keeps them exact. A folder keeps its saved dtype.
            dtype: Any = torch.float32 if gguf_file else "auto"
            self.hf_model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, local_files_only=True, **load)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
            raise ModelFileError(f"transformers could not load the model {where}: {exc}") from exc
        self.hf_model.eval()
        window = getattr(self.hf_model.config, "max_position_embeddings", None)
        self.n_ctx = min(n_ctx, window) if window else n_ctx
        self._lock = threading.Lock()
        self._stop_matchers: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    def _prompt_ids(self, messages: list[Message]) -> list[int]:
        from jinja2 import TemplateError

        tok = self.tokenizer
        if self.prompt_format == "completion":
            return list(tok(render_completion_prompt(messages), add_special_tokens=True).input_ids)
        try:
            text = tok.apply_chat_template(
                [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
            )
        except TemplateError as exc:  # e.g. roles that do not alternate, or a system turn it does not take
            raise InputError(f"the chat template of {self.name} rejects this conversation: {exc}") from None
        # the template writes its own <bos>; adding special tokens again would double it
        return list(tok(text, add_special_tokens=False).input_ids)

    def _fit_prompt(self, n_prompt: int, max_tokens: int) -> int:
        if n_prompt + 1 >= self.n_ctx:
            raise BackendResponseError(
                f"prompt is {n_prompt} tokens but the context window is {self.n_ctx}; "
                "shorten the prompt or raise backend.n_ctx"
            )
        return min(max_tokens, self.n_ctx - n_prompt - 1)

    def _stop_matcher(self, stop: tuple[str, ...]) -> Any:
        """transformers' ``StopStringCriteria`` for ``stop``, built once per set (call under the lock)."""
        from transformers import StopStringCriteria

        matcher = self._stop_matchers.pop(stop, None) or StopStringCriteria(self.tokenizer, list(stop))
        self._stop_matchers[stop] = matcher
        while len(self._stop_matchers) > _STOP_MATCHERS:
            self._stop_matchers.popitem(last=False)
        return matcher

    def _generate(self, messages: list[Message], params: GenerateParams) -> Completion:
        from transformers import MaxTimeCriteria, StoppingCriteriaList

        torch = self._torch
        if getattr(self, "hf_model", None) is None:
            raise BackendUnavailable(f"{self.name} was closed; create a new backend")
        ids = self._prompt_ids(messages)
        max_new = self._fit_prompt(len(ids), params.max_tokens)
        stop = tuple(dict.fromkeys((*params.stop, *(STOP_SEQUENCES if self.prompt_format == "completion" else ()))))
        tok = self.tokenizer
        eos = self.hf_model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else []) | {tok.eos_token_id}
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": params.temperature > 0}
        if params.temperature > 0:
            kwargs |= {"temperature": params.temperature, "top_p": params.top_p}
        deadline = MaxTimeCriteria(params.timeout) if params.timeout is not None else None
        input_ids = torch.tensor([ids], dtype=torch.long)
        with self._lock:
            criteria = [self._stop_matcher(stop)] if stop else []
            if deadline is not None:
                deadline.initial_timestamp = time.time()  # waiting for the lock does not count
                criteria.append(deadline)
            if criteria:
                kwargs["stopping_criteria"] = StoppingCriteriaList(criteria)
            try:
                with torch.random.fork_rng(devices=[]), torch.inference_mode():
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    out = self.hf_model.generate(
                        input_ids=input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                        **kwargs,
                    )
            except (RuntimeError, MemoryError) as exc:
                raise BackendResponseError(f"{self.name} failed while generating: {type(exc).__name__}: {exc}") from exc
        new = [int(t) for t in out[0, len(ids):]]
        text = tok.decode(new, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        ended = cut >= 0 or bool(new and new[-1] in eos_ids)
        if deadline is not None and not ended and len(new) < max_new:
            raise BackendTimeout(
                f"{self.name} did not finish within {params.timeout:.1f}s; raise the timeout or lower max_tokens"
            )
        if self.prompt_format == "completion":
            text = clean_completion(_drop_partial_label(text) if not ended else text)
        else:
            text = text.strip()
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=len(ids), completion_tokens=len(new)),
            finish_reason="stop" if ended else "length",
            model=self.name,
        )

    def close(self) -> None:
        self.hf_model = None


def _drop_partial_label(text: str) -> str:
    """Cut a speaker label the token limit interrupted (``...\n\nUser``): the start of an invented turn."""
    for label in STOP_SEQUENCES:
        for n in range(len(label) - 1, 1, -1):
            if text.endswith(label[:n]):
                return text[: -n]
    return text
