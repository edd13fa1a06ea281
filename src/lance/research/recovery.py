"""Transductive label recovery: a training prompt's distribution, given its own observed labels.

The amortised ``q(d|x)`` sees only the embedding, because at test time there are no labels.
Label enhancement, though, recovers distributions for the *training* prompts, whose coarse
labels are known, and the usual LE protocol uses them. Under the model's likelihood they are
conjugate to the Dirichlet: ``p(safe|d) = d_0``, and for an unsafe prompt with known categories
C, ``(1 - d_0) * prod_c (d_c / (1 - d_0))^(1/|C|) = prod_c d_c^(1/|C|)`` (the mean of the log
terms, as in training), so the posterior given the labels is ``Dir(alpha + e_0)`` or
``Dir(alpha + sum_c e_c / |C|)``. An unsafe prompt without a category has the non-conjugate
likelihood ``1 - d_0`` and keeps ``alpha``.

Point estimates of that posterior:

* ``mean``: ``E[d]``, the Bayes estimate under squared error and under ``KL(d || q)``;
* ``geometric``: ``q_k ∝ exp(E[log d_k])``, the Bayes estimate under ``KL(q || d)``. It is
  rank-preserving (``digamma`` is increasing) and pushes the mass of a category whose
  concentration is below ~1 towards zero, which is what sparse true distributions reward.
* ``hedged``: ``(1 - s) * geometric + s * mean``. Both parts rise with ``alpha_k``, so the
  ranking is kept; the mean part guarantees ``q_k >= s * E[d_k]``, so a true co-label the
  geometric mean starved costs at most ``log(1/s)`` more than under the mean in ``KL(d || q)``
  (the geometric mean's KL is heavy-tailed: a few texts with missed co-labels carry most of it).

The evidence ``weight`` of the conditioning is a tempered likelihood: 1 is the model's own,
larger values trust the observed label as that many observations.

``sparsify`` is generic post-processing (for any method's output, baselines included): masses
below a threshold become exact zeros. It exists because Clark and Canberra charge a full unit
for any non-zero mass on a true zero; it costs KL and ranking quality (ties at zero).

Used by ``bench/label_recovery.py``; nothing in ``lance assess`` goes through this module.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from scipy.special import digamma

from lance.assess.model import LEModel
from lance.errors import InputError

Estimate = Literal["mean", "geometric", "hedged"]


def condition_on_labels(alpha: np.ndarray, unsafe: np.ndarray, known: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Concentrations of the posterior given each row's observed labels (conjugate update).

    ``alpha`` (n, C) from ``q(d|x)``; ``unsafe`` (n,) 1/0 (NaN = unlabelled, left alone);
    ``known`` (n, C) known-positive mask (column 0 ignored). ``weight`` scales the evidence
    (1 = one observation, the model's own likelihood; 0 = no conditioning).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.ndim != 2 or np.shape(known) != alpha.shape or np.shape(unsafe) != (alpha.shape[0],):
        raise InputError(f"shape mismatch: alpha {alpha.shape}, unsafe {np.shape(unsafe)}, known {np.shape(known)}")
    if weight < 0:
        raise InputError(f"evidence weight must be >= 0, got {weight}")
    unsafe = np.asarray(unsafe, dtype=np.float64)
    cats = np.asarray(known, dtype=np.float64).copy()
    cats[:, 0] = 0
    n_known = cats.sum(1, keepdims=True)
    evidence = np.zeros_like(alpha)
    is_unsafe = (unsafe >= 0.5)[:, None]
    evidence += np.where(is_unsafe & (n_known > 0), cats / np.maximum(n_known, 1), 0.0)
    evidence[:, 0] = (unsafe < 0.5).astype(np.float64)  # NaN compares False: unlabelled rows get nothing
    return alpha + weight * evidence


def point_estimate(alpha: np.ndarray, kind: Estimate = "mean", *, mean_share: float = 0.05) -> np.ndarray:
    """A distribution summarising ``Dir(alpha)`` row-wise (see the module docstring).

    ``mean_share`` is ``s`` of the ``hedged`` estimate (ignored by the others).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if kind == "hedged":
        if not 0 <= mean_share <= 1:
            raise InputError(f"mean_share must be in [0, 1], got {mean_share}")
        return (1 - mean_share) * point_estimate(alpha, "geometric") + mean_share * point_estimate(alpha, "mean")
    if kind == "mean":
        w = alpha
    elif kind == "geometric":
        # exp(psi(a_k) - psi(sum a)); the common factor cancels, shift by the row max for range
        lg = digamma(alpha)
        w = np.exp(lg - lg.max(1, keepdims=True))
    else:
        raise InputError(f"unknown point estimate {kind!r}; use 'mean', 'geometric' or 'hedged'")
    return w / w.sum(1, keepdims=True)


def sparsify(dist: np.ndarray, threshold: float) -> np.ndarray:
    """Rows renormalised, masses below ``threshold`` set to exactly 0, renormalised again.

    The largest mass of each row always survives, so no row becomes empty. Pass a block of
    columns (e.g. the risk categories only) to sparsify a conditional distribution.
    """
    if not 0 <= threshold < 1:
        raise InputError(f"threshold must be in [0, 1), got {threshold}")
    d = np.clip(np.asarray(dist, dtype=np.float64), 0.0, None)
    total = d.sum(1, keepdims=True)
    d = np.where(total > 0, d / np.where(total > 0, total, 1.0), 1.0 / d.shape[1])
    d = np.where((d >= threshold) | (d >= d.max(1, keepdims=True)), d, 0.0)
    return d / d.sum(1, keepdims=True)


def recover(
    model: LEModel,
    x: np.ndarray,
    unsafe: np.ndarray,
    known: np.ndarray,
    *,
    estimate: Estimate = "geometric",
    weight: float = 1.0,
    mean_share: float = 0.05,
) -> np.ndarray:
    """Recovered (n, C) distributions of labelled prompts: the posterior given their labels
    (evidence ``weight``), summarised by ``estimate``."""
    model.eval()
    with torch.no_grad():
        alpha = model.concentrations(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).double().numpy()
    return point_estimate(condition_on_labels(alpha, unsafe, known, weight), estimate, mean_share=mean_share)
