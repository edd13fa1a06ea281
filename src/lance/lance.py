"""``Lance``: the public facade over assess → route → gradients → refine → respond.

Usage::

    from lance import Lance

    lance = Lance()                                  # embedded defaults
    result = lance.respond("How do I kill a Python process?")
    print(result.route, result.response)

Components load lazily on first use, so ``Lance()`` is cheap; pass ready-made
ones (an assessor, a target, a refiner) to share them between objects.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lance.assess.distribution import Assessor, RiskDistribution
from lance.backends.base import ChatModel, GenerateParams, MessagesLike
from lance.config import LanceSettings, load_settings
from lance.result import LanceResult, RefineResult

if TYPE_CHECKING:
    from lance.embeddings.encoder import Encoder
    from lance.config.pipeline import PipelineConfig
    from lance.respond.pipeline import Pipeline
    from lance.judges.base import RefusalCheck
    from lance.taxonomy import Taxonomy


class Lance:
    """Assess, refine and answer prompts; one object per configuration."""

    def __init__(
        self,
        settings: LanceSettings | None = None,
        *,
        assessor: Assessor | None = None,
        target: ChatModel | None = None,
        refiner: ChatModel | None = None,
        encoder: Encoder | None = None,
        taxonomy: Taxonomy | None = None,
        config: PipelineConfig | None = None,
        refusal_detector: RefusalCheck | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self._assessor = assessor
        self._target = target
        self._refiner = refiner
        self._encoder = encoder
        self._taxonomy = taxonomy
        self._config = config
        self._detector = refusal_detector
        self._pipeline: Pipeline | None = None
        self._owned: list[ChatModel] = []

    @classmethod
    def from_settings(cls, settings: LanceSettings | None = None, **components: object) -> Lance:
        """Build from settings (``None``: defaults < ``LANCE_CONFIG`` file < ``LANCE_*`` environment)."""
        return cls(settings, **components)  # type: ignore[arg-type]

    # --- components, loaded on first use
    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from lance.respond.pipeline import build_pipeline

            self._pipeline, self._owned = build_pipeline(
                self.settings,
                assessor=self._assessor,
                target=self._target,
                refiner=self._refiner,
                encoder=self._encoder,
                taxonomy=self._taxonomy,
                config=self._config,
                refusal_detector=self._detector,
            )
        return self._pipeline

    # --- sync API
    def assess(self, prompt: MessagesLike) -> RiskDistribution:
        """Risk distribution of a prompt (or of a conversation's last user turn, in its context). No LLM call."""
        return self.pipeline.assess(prompt)

    def refine(self, prompt: MessagesLike) -> RefineResult:
        """Rewrite a risky prompt along its textual gradient; the target is not called."""
        return self.pipeline.refine(prompt)

    def respond(self, prompt: MessagesLike, params: GenerateParams | None = None) -> LanceResult:
        """Answer a prompt or an OpenAI-style message list safely: pass, neutralise or refuse naturally.

        ``params`` are the target's sampling parameters (``None``: the backend's defaults).
        Backend failures never propagate as the unrefined prompt: they end in a natural refusal
        with the error in ``result.errors``.
        """
        return self.pipeline.respond(prompt, params)

    # --- async API (the same code path, run off the event loop)
    async def aassess(self, prompt: MessagesLike) -> RiskDistribution:
        return await asyncio.to_thread(self.assess, prompt)

    async def arefine(self, prompt: MessagesLike) -> RefineResult:
        return await asyncio.to_thread(self.refine, prompt)

    async def arespond(self, prompt: MessagesLike, params: GenerateParams | None = None) -> LanceResult:
        return await asyncio.to_thread(self.respond, prompt, params)

    def close(self) -> None:
        """Release the chat models this object created (not ones passed in)."""
        for model in self._owned:
            model.close()
        self._owned = []
        self._pipeline = None

    def __enter__(self) -> Lance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
