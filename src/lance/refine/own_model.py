"""LANCE's own refinement model: the embedded Gemma 3 270M with the packaged LoRA adapter.

It is what ``refiner: null`` means, whatever the target is: a small model trained
(``lance train-refiner``, docs/refiner.md) to rewrite a risky request along its
gradient and to write a natural refusal, from short prompts with no demonstrations.
It runs in-process on CPU beside the target. llama.cpp logs and ignores an adapter
it cannot read, so the file is checked against the digest recorded when it was
trained before it is loaded: a corrupt or missing adapter is a clear error, never
a silently untuned refiner.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from lance.backends.base import ChatModel, GenerateParams
from lance.backends.llamacpp import LlamaCppChatModel
from lance.config import LanceSettings
from lance.errors import ModelFileError

#: The prompt format the adapter was trained on (``refine.prompts.adapter_*``).
TRAINED_FORMAT = "lance-refiner/1"
_REINSTALL = "reinstall LANCE (`bash scripts/setup.sh`) or train one with `lance train-refiner`"


def packaged_adapter() -> Path:
    """The adapter shipped in the package (``lance/refine/adapters/lance-refiner.gguf``)."""
    return Path(str(resources.files("lance.refine") / "adapters" / "lance-refiner.gguf"))


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verified_adapter(path: Path | None = None) -> Path:
    """``path`` (default: the packaged adapter) after checking it against its run record's digest."""
    path = packaged_adapter() if path is None else Path(path)
    record = path.with_suffix(".json")
    if not path.is_file():
        raise ModelFileError(f"refiner adapter not found: {path}; {_REINSTALL}")
    try:
        want = json.loads(record.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError):
        raise ModelFileError(f"refiner adapter record missing or unreadable: {record}; {_REINSTALL}") from None
    if not want:
        raise ModelFileError(f"refiner adapter record {record} has no sha256; {_REINSTALL}")
    if file_digest(path) != want:
        raise ModelFileError(f"refiner adapter {path} is corrupt (its digest differs from {record.name}); {_REINSTALL}")
    return path


class OwnRefinementModel(LlamaCppChatModel):
    """The embedded model + LANCE's refiner adapter, prompted verbatim (``raw``) in its trained format."""

    trained_format = TRAINED_FORMAT

    def __init__(
        self, adapter: Path | None = None, *, n_threads: int | None = None, n_ctx: int = 1024, seed: int = 0
    ) -> None:
        path = verified_adapter(adapter)
        super().__init__(None, prompt_format="raw", n_ctx=n_ctx, n_threads=n_threads, seed=seed,
                         params=GenerateParams(temperature=0.0, max_tokens=80), lora_path=path)
        self.adapter_digest = file_digest(path)[:12]


def refiner_model(settings: LanceSettings) -> ChatModel:
    """The configured refiner: ``refiner: null`` is LANCE's own model (on CPU, whatever the target is),
    otherwise the backend ``refiner:`` names, prompted with instructions and demonstrations."""
    if settings.refiner is None:
        return OwnRefinementModel(n_threads=settings.backend.n_threads, seed=settings.backend.seed or 0)
    from lance.backends import get_chat_model

    return get_chat_model(settings.refiner)
