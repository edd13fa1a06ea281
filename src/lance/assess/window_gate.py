"""The window gate: a second gate for what the shipped one was never trained on.

The shipped gate learnt short prompts. Read window by window over a long benign text, or over
an application's system prompt with its safety rules, it flags the benign text. The window gate
has the same architecture (MiniLM's top layers fine-tuned, an LE head on top; trained by
``lance.assess.window_training``) and reads only windows of turns longer than the encoder
takes and system turns; a short prompt is still read by the shipped gate alone, exactly as
before. It shares the assessor's encoder: MiniLM's untouched bottom layers run once, then the
window gate's own top layers (``checkpoints/window_top.pt``) and head (``checkpoints/window.pt``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lance.assess.checkpoint import LECheckpoint, load_checkpoint
from lance.assess.top_training import _additive_mask, _bert, load_state, padded_batches, pool, run_layers
from lance.embeddings.sharing import shared
from lance.embeddings.top import load_top
from lance.errors import ModelFileError

#: The window gate's encoder name (its top and head both carry it).
WINDOW_ENCODER = "all-MiniLM-L6-v2+lance-window-v1"
TOP_FILE, HEAD_FILE = "window_top.pt", "window.pt"
#: Texts per forward pass (windows are at most 64 tokens, so a batch stays small).
BATCH = 128


def packaged(name: str) -> Path:
    return Path(str(files("lance.assess").joinpath("checkpoints", name)))


class WindowGate:
    """Risk of windows and system turns: MiniLM's bottom layers, the window top, the window head."""

    def __init__(self, encoder: Any, top: dict[str, Any], checkpoint: LECheckpoint) -> None:
        if top.get("name") != checkpoint.encoder_name:
            raise ModelFileError(f"window gate: the top is {top.get('name')!r} but the head was trained on "
                                 f"{checkpoint.encoder_name!r}; use the pair `lance train-window-gate` wrote")
        bert = _bert(encoder)
        n_layers = len(bert.encoder.layer)
        tuned = sorted({int(k.partition(".")[0]) for k in top["state"]})
        if not tuned or tuned != list(range(tuned[0], n_layers)):
            raise ModelFileError(f"window gate top tunes layers {tuned}, not the top of a {n_layers}-layer encoder")
        self._bert, self._first = bert, tuned[0]
        # the tuned layers are copies: the assessor's own encoder keeps the shipped gate's top
        self._top = [copy.deepcopy(layer) for layer in bert.encoder.layer[self._first :]]
        try:
            load_state(self._top, top["state"], n_layers)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ModelFileError(f"window gate top does not fit the encoder: {str(exc).splitlines()[0]}") from None
        for layer in self._top:
            layer.eval()
        self._tokenizer = encoder._model.tokenizer
        self._max_tokens = int(getattr(encoder, "max_seq_length", 256) or 256)
        self.checkpoint = checkpoint
        self._model = checkpoint.model.eval()
        self.digest = str(top.get("digest", ""))
        #: Keys the embedding memo of ``lance.embeddings.sharing`` (the top's content, not only its name).
        self.name, self.cache_key = WINDOW_ENCODER, f"{WINDOW_ENCODER}-{self.digest}"

    @shared
    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled, normalised embeddings of ``texts`` through the window top (longest first, batched)."""
        out = np.zeros((len(texts), self._bert.config.hidden_size), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(list(texts), truncation=True, max_length=self._max_tokens)["input_ids"]
        for idx, x, m in padded_batches(ids, BATCH):
            h = self._bert.embeddings(input_ids=x)
            am = _additive_mask(m, h.dtype)
            for layer in self._bert.encoder.layer[: self._first]:
                o = layer(h, attention_mask=am)
                h = o[0] if isinstance(o, tuple) else o
            out[idx] = pool(run_layers(self._top, h, m), m).numpy()
        return out

    @torch.no_grad()
    def head(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs, conf = self._model.predict(torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32)))
        return probs.numpy(), conf.numpy()


def load_window_gate(encoder: Any, *, taxonomy_fingerprint: str, top_path: Path | None = None,
                     head_path: Path | None = None) -> WindowGate:
    """The packaged window gate (or the given pair) on the assessor's ``encoder``."""
    top = load_top(top_path or packaged(TOP_FILE))
    ckpt = load_checkpoint(head_path or packaged(HEAD_FILE), taxonomy_fingerprint=taxonomy_fingerprint)
    return WindowGate(encoder, top, ckpt)
