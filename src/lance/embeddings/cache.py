"""Embeddings computed once per text: in memory for a run, optionally on disk.

The on-disk cache lives under ``<cache dir>/embeddings/<encoder>/`` as one ``.npy`` matrix
plus the sha256 of each text, so repeated training runs and benchmarks skip the encoder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lance.embeddings.encoder import Encoder


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _store_dir(cache_dir: Path, encoder_name: str) -> Path:
    return cache_dir / "embeddings" / re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder_name)


def embed(texts: Sequence[str], encoder: Encoder, cache_dir: Path | None = None) -> np.ndarray:
    """``encoder.encode(texts)``, reusing and extending the on-disk cache when one is given."""
    if cache_dir is None:
        return encoder.encode(list(texts))
    store = _store_dir(Path(cache_dir), getattr(encoder, "cache_key", encoder.name))
    keys_file, mat_file = store / "keys.txt", store / "emb.npy"
    known: dict[str, int] = {}
    mat = np.zeros((0, encoder.dim), dtype=np.float32)
    if keys_file.exists() and mat_file.exists():
        keys = keys_file.read_text().split()
        mat = np.load(mat_file)
        if len(keys) == mat.shape[0]:
            known = {k: i for i, k in enumerate(keys)}
        else:
            mat = np.zeros((0, encoder.dim), dtype=np.float32)
    wanted = [text_key(t) for t in texts]
    missing = list(dict.fromkeys(k for k in wanted if k not in known))
    if missing:
        first = {}
        for t, k in zip(texts, wanted):
            first.setdefault(k, t)
        new = encoder.encode([first[k] for k in missing])
        base = mat.shape[0]
        mat = np.concatenate([mat, new.astype(np.float32)], axis=0)
        for i, k in enumerate(missing):
            known[k] = base + i
        store.mkdir(parents=True, exist_ok=True)
        order = sorted(known, key=known.__getitem__)
        tmp = mat_file.with_suffix(".tmp.npy")
        np.save(tmp, mat)
        tmp.replace(mat_file)
        keys_file.write_text("\n".join(order))
    return mat[[known[k] for k in wanted]]
