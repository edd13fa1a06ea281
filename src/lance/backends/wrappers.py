"""A chat model wrapping another: the base of the recording, tracking and slot-limiting wrappers."""

from __future__ import annotations

from typing import Any

from lance.backends.base import ChatModel, Completion, GenerateParams


class DelegatingChatModel(ChatModel):
    """Same name, defaults and backend-specific attributes as the wrapped model.

    Subclasses override ``generate``/``agenerate`` to add what they watch or limit.
    """

    def __init__(self, inner: ChatModel) -> None:
        super().__init__(inner.default_params)
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, item: str) -> Any:
        # Backend-specific attributes (prompt_format, n_ctx, model_path, ...) stay visible.
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)

    def _generate(self, messages: Any, params: GenerateParams) -> Completion:
        return self.generate(messages, params)
