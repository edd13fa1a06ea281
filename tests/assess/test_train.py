"""Training a tiny LE model on real records: the ELBO falls and p(safe) moves the right way."""

from __future__ import annotations

import numpy as np
import torch

from lance.assess.model import LEBatch, LEHyperParams, LEModel
from lance.assess.train import TrainConfig, evaluate_loss, fit, targets
from lance.taxonomy import load_taxonomy


def test_negative_elbo_falls_and_unsafe_gets_less_safe_mass(small_records, small_embeddings):
    tax = load_taxonomy()
    unsafe, known = targets(small_records, tax.ids)
    hp = LEHyperParams(hidden=64)
    untrained = LEModel(small_embeddings.shape[1], len(tax.ids), hp)
    full = LEBatch(x=torch.from_numpy(small_embeddings), unsafe=torch.from_numpy(unsafe), known=torch.from_numpy(known))
    before = evaluate_loss(untrained, full)

    model, hist = fit(small_embeddings, unsafe, known, hp, TrainConfig(epochs=25, batch_size=32, val_frac=0.2, patience=25), progress=False)
    after = evaluate_loss(model, full)
    assert after < before
    assert hist["train_loss"][-1] < hist["train_loss"][0]

    probs, conf = model.predict(torch.from_numpy(small_embeddings))
    p_safe = probs[:, 0].numpy()
    assert p_safe[unsafe == 1].mean() < p_safe[unsafe == 0].mean() - 0.2
    assert torch.isfinite(conf).all() and (conf > 0).all()
    # known categories of unsafe prompts outrank the average other risk category
    rows = known[:, 1:].sum(1) > 0
    risk = probs[:, 1:].numpy()[rows]
    kn = known[rows, 1:] > 0
    assert (risk * kn).sum() / kn.sum() > (risk * ~kn).sum() / (~kn).sum()


def test_fit_is_reproducible_for_a_seed(small_records, small_embeddings):
    tax = load_taxonomy()
    unsafe, known = targets(small_records, tax.ids)
    cfg = TrainConfig(epochs=2, seed=3)
    a, _ = fit(small_embeddings, unsafe, known, LEHyperParams(hidden=32), cfg, progress=False)
    b, _ = fit(small_embeddings, unsafe, known, LEHyperParams(hidden=32), cfg, progress=False)
    x = torch.from_numpy(small_embeddings[:5])
    assert np.allclose(a.predict(x)[0].numpy(), b.predict(x)[0].numpy())


def test_unknown_category_is_not_negative():
    """An unsafe prompt with no known category gets no push towards any particular category."""
    torch.manual_seed(0)
    hp = LEHyperParams(hidden=16, lambda_x=0.0, beta_s=0.0, beta_d=0.0)
    model = LEModel(8, 4, hp)
    x = torch.randn(1, 8)
    batch = LEBatch(x=x, unsafe=torch.ones(1), known=torch.zeros(1, 4))
    loss, _ = model.loss(batch)
    loss.backward()
    # only E[log(1 - d_0)] acts: every risk concentration is pushed up, none down; safe goes down
    grad = model.alpha_head.bias.grad
    assert grad is not None
    assert (grad[1:] < 0).all() and grad[0] > 0
