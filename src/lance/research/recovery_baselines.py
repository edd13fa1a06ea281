"""Label-enhancement baselines for the recovery benchmark, on the same embeddings and labels.

Each takes the embeddings ``x`` (n, d) and the observed single-positive label matrix
``observed`` (n, C; one 1 per row, column 0 = safe) and returns recovered distributions
(n, C), transductively (the rows it was given), as label enhancement is usually scored.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from lance.assess.graph import propagate


def logical(x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The observed labels as given (one-hot)."""
    return observed.astype(np.float64) / observed.sum(1, keepdims=True).clip(min=1)


def label_smoothing(x: np.ndarray, observed: np.ndarray, eps: float = 0.1) -> np.ndarray:
    """(1 - eps) one-hot + eps uniform."""
    c = observed.shape[1]
    return (1 - eps) * logical(x, observed) + eps / c


def softmax_classifier(x: np.ndarray, observed: np.ndarray, c_reg: float = 1.0, seed: int = 0) -> np.ndarray:
    """Multinomial logistic regression on the embeddings, trained on the observed labels."""
    y = observed.argmax(1)
    clf = LogisticRegression(C=c_reg, max_iter=2000, random_state=seed).fit(x, y)
    out = np.zeros((x.shape[0], observed.shape[1]))
    out[:, clf.classes_] = clf.predict_proba(x)
    return out


def knn_propagation(x: np.ndarray, observed: np.ndarray, k: int = 10, alpha: float = 0.5) -> np.ndarray:
    """GLLE-style smoothing: label spreading on the kNN graph of the embeddings."""
    return propagate(x, observed.astype(np.float32), k=k, alpha=alpha).astype(np.float64)


class _Levi(nn.Module):
    def __init__(self, d: int, c: int, h: int = 128) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d + c, h), nn.GELU(), nn.Linear(h, 2 * c))
        self.dec_x = nn.Sequential(nn.Linear(c, h), nn.GELU(), nn.Linear(h, d))


def levi_vae(x: np.ndarray, observed: np.ndarray, epochs: int = 200, seed: int = 0, beta: float = 1.0) -> np.ndarray:
    """LEVI-style Gaussian VAE (Xu et al., ICML 2020): a Gaussian latent label distribution,
    inferred from features and logical labels, that must generate both; output softmax(mean)."""
    torch.manual_seed(seed)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(observed.astype(np.float32))
    m = _Levi(x.shape[1], observed.shape[1])
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(epochs):
        mu, logvar = m.enc(torch.cat([xt, yt], 1)).chunk(2, -1)
        logvar = logvar.clamp(-8, 8)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec_x = ((m.dec_x(z) - xt) ** 2).sum(-1)
        rec_y = -(yt * torch.log_softmax(z, -1)).sum(-1)  # the latent is the label distribution's logits
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1)
        loss = (rec_x + rec_y + beta * kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mu, _ = m.enc(torch.cat([xt, yt], 1)).chunk(2, -1)
        return torch.softmax(mu, -1).double().numpy()


BASELINES = {
    "logical labels": logical,
    "label smoothing": label_smoothing,
    "softmax classifier": softmax_classifier,
    "kNN propagation": knn_propagation,
    "LEVI-style VAE": levi_vae,
}
