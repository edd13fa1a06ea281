"""kNN label propagation over embeddings (GLLE/label-spreading style).

Used twice: as the graph prior of the LE model (neighbours' labels shape each prompt's
Dirichlet prior) and as a baseline on the label-recovery benchmark.
"""

from __future__ import annotations

import numpy as np


def knn_graph(x: np.ndarray, k: int = 10, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of each row's ``k`` nearest other rows.

    Rows of ``x`` are assumed unit-norm (the encoder's output), so a dot product is cosine.
    Computed in chunks so 50k x 50k never sits in memory at once.
    """
    n = x.shape[0]
    k = max(1, min(k, n - 1))
    idx = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        block = x[start : start + chunk] @ x.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -np.inf  # not its own neighbour
        part = np.argpartition(-block, k, axis=1)[:, :k]
        psim = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-psim, axis=1)
        idx[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        sim[start : start + chunk] = np.take_along_axis(psim, order, axis=1)
    return idx, sim


def propagate(
    x: np.ndarray,
    seeds: np.ndarray,
    *,
    k: int = 10,
    alpha: float = 0.5,
    iters: int = 20,
    graph: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Label spreading ``F <- (1 - alpha) Y + alpha W F`` on a row-normalised kNN graph.

    ``seeds`` is an (n, C) matrix of observed label vectors (rows may be zero = unlabelled).
    Returns row-normalised distributions; rows that stay empty become uniform.
    """
    idx, sim = graph if graph is not None else knn_graph(x, k)
    w = np.clip(sim, 0.0, None) + 1e-6
    w = w / w.sum(1, keepdims=True)
    y = seeds.astype(np.float64)
    f = y.copy()
    for _ in range(iters):
        f = (1 - alpha) * y + alpha * np.einsum("nk,nkc->nc", w, f[idx])
    total = f.sum(1, keepdims=True)
    out = np.where(total > 0, f / np.where(total > 0, total, 1.0), 1.0 / f.shape[1])
    return out.astype(np.float32)
