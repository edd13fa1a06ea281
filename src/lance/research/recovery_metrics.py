"""Label-distribution and multi-label ranking metrics for the label-recovery benchmark.

Distribution metrics compare a recovered distribution with the true one (rows sum to 1):
Chebyshev, Clark, Canberra, KL (lower is better), cosine and intersection (higher is better).
Ranking metrics score the recovered masses against the full binary labels: average precision,
ranking loss, coverage (sklearn's, 1-based: labels needed to reach every positive) and
one-error (top label not positive).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import coverage_error, label_ranking_average_precision_score, label_ranking_loss

EPS = 1e-12

#: metric -> True when higher is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "chebyshev": False,
    "clark": False,
    "canberra": False,
    "kl": False,
    "cosine": True,
    "intersection": True,
    "avg_precision": True,
    "ranking_loss": False,
    "coverage": False,
    "one_error": False,
}
DISTRIBUTION_METRICS = ("chebyshev", "clark", "canberra", "kl", "cosine", "intersection")
RANKING_METRICS = ("avg_precision", "ranking_loss", "coverage", "one_error")


def _norm(a: np.ndarray) -> np.ndarray:
    a = np.clip(np.asarray(a, dtype=np.float64), 0.0, None)
    s = a.sum(1, keepdims=True)
    return np.where(s > 0, a / np.where(s > 0, s, 1.0), 1.0 / a.shape[1])


def distribution_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Mean over rows of the six LDL measures."""
    p, q = _norm(true), _norm(pred)
    diff = np.abs(p - q)
    tot = p + q
    ratio = np.where(tot > 0, diff / np.where(tot > 0, tot, 1.0), 0.0)
    cos = (p * q).sum(1) / (np.linalg.norm(p, axis=1) * np.linalg.norm(q, axis=1) + EPS)
    kl = np.where(p > 0, p * (np.log(p + EPS) - np.log(q + EPS)), 0.0).sum(1)
    return {
        "chebyshev": float(diff.max(1).mean()),
        "clark": float(np.sqrt((ratio**2).sum(1)).mean()),
        "canberra": float(ratio.sum(1).mean()),
        "kl": float(kl.mean()),
        "cosine": float(cos.mean()),
        "intersection": float(np.minimum(p, q).sum(1).mean()),
    }


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Multi-label ranking quality of ``scores`` against binary ``labels`` (rows with >= 1 positive)."""
    y = (np.asarray(labels) > 0).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    keep = y.sum(1) > 0
    y, s = y[keep], s[keep]
    top = s.argmax(1)
    return {
        "avg_precision": float(label_ranking_average_precision_score(y, s)),
        "ranking_loss": float(label_ranking_loss(y, s)),
        "coverage": float(coverage_error(y, s)),
        "one_error": float((y[np.arange(len(y)), top] == 0).mean()),
    }


def all_metrics(labels: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Both families; the true distribution is uniform over each row's positive labels."""
    return distribution_metrics(_norm(labels), pred) | ranking_metrics(labels, pred)
