"""Transductive recovery: the conjugate label update, the point estimates and sparsification."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lance.assess.model import LEModel
from lance.research.recovery import condition_on_labels, point_estimate, recover, sparsify
from lance.errors import InputError


def test_conditioning_adds_one_observation():
    alpha = np.full((4, 4), 0.5)
    unsafe = np.array([0.0, 1.0, 1.0, np.nan])
    known = np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=float)
    post = condition_on_labels(alpha, unsafe, known)
    np.testing.assert_allclose(post[0], [1.5, 0.5, 0.5, 0.5])  # safe: + e_0
    np.testing.assert_allclose(post[1], [0.5, 0.5, 1.5, 0.5])  # one category: + e_c
    np.testing.assert_allclose(post[2], [0.5, 1.0, 0.5, 1.0])  # two categories: + e_c / 2 each
    np.testing.assert_allclose(post[3], alpha[3])  # unlabelled: unchanged
    np.testing.assert_allclose(condition_on_labels(alpha, unsafe, known, weight=0.0), alpha)


def test_uncategorised_unsafe_is_left_alone():
    """1 - d_0 is not conjugate to the Dirichlet; no invented evidence."""
    alpha = np.array([[0.3, 2.0, 0.7]])
    np.testing.assert_allclose(condition_on_labels(alpha, np.array([1.0]), np.zeros((1, 3))), alpha)


@pytest.mark.parametrize("known", [[0, 0, 1, 0], [0, 1, 0, 1]])
def test_conditioning_matches_monte_carlo_posterior(known: list[int]):
    """The update is the exact posterior under the model's likelihood
    (1 - d_0) * exp(mean_c log(d_c / (1 - d_0))), checked by importance sampling."""
    alpha = np.array([0.8, 1.5, 0.6, 2.0])
    k = np.array([known], dtype=float)
    d = np.random.default_rng(0).dirichlet(alpha, size=400_000)
    cats = np.flatnonzero(k[0])
    lik = (1 - d[:, 0]) * np.exp(np.mean(np.log(d[:, cats] / (1 - d[:, [0]])), axis=1))
    mc = (d * lik[:, None]).sum(0) / lik.sum()
    exact = point_estimate(condition_on_labels(alpha[None], np.array([1.0]), k), "mean")[0]
    np.testing.assert_allclose(mc, exact, atol=3e-3)


def test_point_estimates():
    a = np.array([[2.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(point_estimate(a, "mean"), [[2 / 3, 1 / 3], [0.5, 0.5]])
    # exp(psi(2)) / (exp(psi(2)) + exp(psi(1))) = e / (e + 1), as psi(2) = psi(1) + 1
    np.testing.assert_allclose(point_estimate(a, "geometric"), [[np.e / (np.e + 1), 1 / (np.e + 1)], [0.5, 0.5]])
    with pytest.raises(InputError):
        point_estimate(a, "mode")  # type: ignore[arg-type]


def test_geometric_estimate_keeps_the_ranking_and_starves_small_concentrations():
    a = np.random.default_rng(1).gamma(0.5, 2.0, size=(50, 9)) + 0.01
    mean, geo = point_estimate(a, "mean"), point_estimate(a, "geometric")
    np.testing.assert_allclose(geo.sum(1), 1.0)
    assert (np.argsort(mean, 1) == np.argsort(geo, 1)).all()
    small = a < 0.5
    assert (geo[small] < mean[small]).all()


def test_hedged_estimate_keeps_the_ranking_and_floors_every_mass_at_a_share_of_the_mean():
    a = np.random.default_rng(2).gamma(0.5, 2.0, size=(50, 9)) + 0.01
    mean, geo = point_estimate(a, "mean"), point_estimate(a, "geometric")
    hedged = point_estimate(a, "hedged", mean_share=0.1)
    np.testing.assert_allclose(hedged, 0.9 * geo + 0.1 * mean)
    np.testing.assert_allclose(hedged.sum(1), 1.0)
    assert (np.argsort(hedged, 1) == np.argsort(mean, 1)).all()
    assert (hedged >= 0.1 * mean).all()
    # a true co-label the geometric mean starves costs far less KL under the hedge
    starved = np.unravel_index(np.argmin(geo / mean), geo.shape)
    assert -np.log(hedged[starved]) < -np.log(geo[starved])
    np.testing.assert_allclose(point_estimate(a, "hedged", mean_share=0.0), geo)
    with pytest.raises(InputError, match="mean_share"):
        point_estimate(a, "hedged", mean_share=1.5)


def test_sparsify_makes_exact_zeros_and_keeps_the_top():
    d = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.34, 0.33, 0.33], [0.0, 0.0, 0.0]])
    s = sparsify(d, 0.35)
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(s[1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(s[2], [1.0, 0.0, 0.0])  # everything below t: the top survives
    np.testing.assert_allclose(s[3], [1 / 3, 1 / 3, 1 / 3])  # an empty row stays uniform
    np.testing.assert_allclose(sparsify(d[:3], 0.0), d[:3] / d[:3].sum(1, keepdims=True))
    with pytest.raises(InputError):
        sparsify(d, 1.0)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(InputError, match="shape mismatch"):
        condition_on_labels(np.ones((2, 3)), np.ones(2), np.ones((2, 4)))


def test_recover_uses_the_observed_label():
    torch.manual_seed(0)
    model = LEModel(8, 4)
    x = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    unsafe = np.array([1, 1, 1, 0, 0, 1], dtype=np.float32)
    known = np.zeros((6, 4), dtype=np.float32)
    known[[0, 1, 2, 5], [1, 2, 3, 1]] = 1
    plain = recover(model, x, unsafe, known, weight=0.0)
    cond = recover(model, x, unsafe, known)
    np.testing.assert_allclose(cond.sum(1), 1.0, rtol=1e-9)
    rows, cols = np.nonzero(known)
    assert (cond[rows, cols] > plain[rows, cols]).all()
    assert (cond[3:5, 0] > plain[3:5, 0]).all()
