"""Few-shot rewrite demonstrations, retrieved by MiniLM similarity to the prompt.

The pool is the hand-written ``demos.DEMOS`` plus, when the repository's data/
folder is present, public (hazardous → neutral) pairs from
``lance.datasets.load_rewrite_pairs()`` (data/ibm_cast, CC BY-NC text: read at
run time, never copied into the package). Pool embeddings are computed once and
cached on disk, keyed by the pool's content.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lance.embeddings.encoder import Encoder
from lance.refine.demos import DEMOS
from lance.taxonomy import Taxonomy

log = logging.getLogger(__name__)

Pair = tuple[str, str, str]  # (hazardous, neutral, taxonomy id or "")

#: ibm_cast's category names on the default taxonomy.
_CAST_MAP = {
    "sexual_content": "S12",
    "legal_opinion": "S6",
    "hate_speech": "S10",
    "crime_planning": "S2",
    "health_consultation": "S6",
}


def data_pairs(limit: int) -> list[Pair]:
    """Up to ``limit`` public rewrite pairs, or none when the datasets module or data/ is absent."""
    if limit <= 0:
        return []
    try:
        from lance.datasets import load_rewrite_pairs  # type: ignore[attr-defined]

        raw = load_rewrite_pairs(split="train")  # the held-out splits stay unseen by the refiner
    except Exception as exc:  # noqa: BLE001 - data is optional; the built-in demos remain
        log.info("rewrite pairs unavailable (%s); using built-in demonstrations only", exc)
        return []
    out: list[Pair] = []
    for item in raw:
        hazardous, neutral, category = item[0], item[1], item[2]
        if isinstance(category, (tuple, list)):
            category = category[0] if category else ""
        out.append((str(hazardous), str(neutral), _CAST_MAP.get(str(category), str(category))))
        if len(out) >= limit:
            break
    return out


def problem_text(category: str, taxonomy: Taxonomy) -> str:
    """The short problem statement shown with a demonstration."""
    if category in taxonomy.ids and category != "safe":
        c = taxonomy[category]
        return f"{c.name.lower()} ({c.directive.split(';')[0].rstrip('.').lower()})"
    return "harmful content (remove the harmful part, keep the harmless purpose)"


class FewShotRetriever:
    """Nearest rewrite pairs to a prompt, optionally favouring the gradient's categories."""

    def __init__(
        self,
        encoder: Encoder,
        taxonomy: Taxonomy,
        pairs: Sequence[Pair] | None = None,
        *,
        data_limit: int = 300,
        cache_dir: Path | None = None,
    ) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self._pairs: list[Pair] | None = list(pairs) if pairs is not None else None
        self._data_limit = data_limit
        self._cache_dir = cache_dir
        self._emb: np.ndarray | None = None

    @property
    def pairs(self) -> list[Pair]:
        if self._pairs is None:
            self._pairs = list(DEMOS) + data_pairs(self._data_limit)
        return self._pairs

    def _embeddings(self) -> np.ndarray:
        if self._emb is None:
            texts = [h for h, _, _ in self.pairs]
            key = hashlib.sha256(("\x00".join(texts) + getattr(self.encoder, "name", "")).encode()).hexdigest()[:20]
            from lance.assets import default_cache_dir

            path = (self._cache_dir or default_cache_dir() / "fewshot") / f"{key}.npy"
            if path.exists():
                emb = np.load(path)
                if emb.shape[0] == len(texts):
                    self._emb = emb
                    return emb
            emb = self.encoder.encode(texts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, emb)
            except OSError as exc:
                log.warning("could not cache few-shot embeddings at %s: %s", path, exc)
            self._emb = emb
        return self._emb

    def retrieve(
        self,
        prompt: str,
        k: int,
        categories: Sequence[str] = (),
        query_embedding: np.ndarray | None = None,
    ) -> list[tuple[str, str, str]]:
        """``k`` demonstrations as ``(hazardous, neutral, problem)``, the most similar last."""
        if k <= 0 or not self.pairs:
            return []
        emb = self._embeddings()
        q = query_embedding if query_embedding is not None else self.encoder.encode([prompt])[0]
        scores = emb @ q
        bonus = np.array([0.1 if c in categories else 0.0 for _, _, c in self.pairs], dtype=np.float32)
        order = np.argsort(-(scores + bonus))
        chosen: list[int] = []
        for i in order:
            if len(chosen) >= k:
                break
            if any(float(emb[i] @ emb[j]) > 0.9 for j in chosen):
                continue  # near-duplicate demonstrations teach nothing new
            chosen.append(int(i))
        return [
            (self.pairs[i][0], self.pairs[i][1], problem_text(self.pairs[i][2], self.taxonomy)) for i in reversed(chosen)
        ]
