"""Recovery metrics on hand-checked cases."""

from __future__ import annotations

import numpy as np

from lance.research.recovery_metrics import all_metrics, distribution_metrics, ranking_metrics


def test_perfect_recovery_scores_perfectly():
    labels = np.array([[1, 0, 1], [0, 1, 0]])
    pred = labels / labels.sum(1, keepdims=True)
    m = all_metrics(labels, pred)
    assert m["chebyshev"] < 1e-9 and m["kl"] < 1e-9 and abs(m["cosine"] - 1) < 1e-9 and abs(m["intersection"] - 1) < 1e-9
    assert m["avg_precision"] == 1 and m["ranking_loss"] == 0 and m["one_error"] == 0 and m["coverage"] == 1.5


def test_known_values():
    d = distribution_metrics(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    assert abs(d["chebyshev"] - 0.5) < 1e-9 and abs(d["intersection"] - 0.5) < 1e-9
    assert abs(d["canberra"] - (0.5 / 1.5 + 1.0)) < 1e-9
    r = ranking_metrics(np.array([[0, 1, 0]]), np.array([[0.6, 0.3, 0.1]]))
    assert r["one_error"] == 1 and r["avg_precision"] == 0.5
