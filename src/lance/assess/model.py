"""The variational label-enhancement (LE) model.

Coarse labels in, a risk distribution out. For a prompt embedding ``x``:

* inference (x only, so it runs without labels): ``q(d|x) = Dir(alpha(x))`` over
  ``safe`` + K categories and ``q(s|x) = N(mu(x), sigma(x)^2)`` for the semantic content;
* generative model: ``p(x|d,s) = N(g([d; s]), I)``, ``p(unsafe|d) = 1 - d_0`` and, for a
  known category c of an unsafe prompt, ``p(c|d, unsafe) = d_c / (1 - d_0)``;
* priors: ``p(s) = N(0, I)`` and ``p(d) = Dir(1 + tau * t)`` where ``t`` is a kNN-propagated
  label distribution (GLLE/SMILE-style graph smoothing folded into the prior; ``tau = 0``
  with ``prior_floor = 1`` gives the flat ``Dir(1)`` of the design brief).

The label terms use the Dirichlet's closed-form expectations (``E[log d_c] = psi(a_c) -
psi(a_sum)``; ``1 - d_0 ~ Beta(a_sum - a_0, a_0)``), which are exact and noiseless, so only
the reconstruction uses a reparameterised sample. Categories that are not listed are
*unknown*, never negative: no term pushes their mass down except the normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.distributions import Dirichlet, Normal, kl_divergence


class LEHyperParams(BaseModel):
    """Everything that shapes the model and its loss; stored in every checkpoint."""

    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(default=128, ge=8)
    latent_dim: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.3, ge=0.0, lt=1.0)
    #: Concentrations live in [alpha_min, alpha_max]: no degenerate (0) or runaway Dirichlets.
    alpha_min: float = Field(default=1e-2, gt=0)
    alpha_max: float = Field(default=30.0, gt=1)
    #: Weight of the coarse safe/unsafe likelihood.
    lambda_y: float = Field(default=1.0, ge=0)
    #: Weight of the known-category likelihood d_c / (1 - d_0).
    lambda_c: float = Field(default=1.0, ge=0)
    #: Weight of the feature reconstruction ||x - g(d, s)||^2 (per dimension).
    lambda_x: float = Field(default=1.0, ge=0)
    beta_d: float = Field(default=0.05, ge=0)
    beta_s: float = Field(default=0.01, ge=0)
    #: Strength of the kNN-propagated Dirichlet prior (0 = flat Dir(1)).
    prior_tau: float = Field(default=4.0, ge=0)
    #: Concentration every category gets in the prior (1 = the flat Dir(1) of the brief).
    prior_floor: float = Field(default=0.1, gt=0)
    #: Neighbours and propagation weight for the graph prior.
    knn_k: int = Field(default=10, ge=1)
    knn_alpha: float = Field(default=0.5, ge=0, lt=1)
    #: Weight of the co-trained softmax head's cross-entropy (SMILE-style), 0 disables it.
    lambda_clf: float = Field(default=0.0, ge=0)


@dataclass
class LEBatch:
    """Training targets for a batch.

    ``unsafe``: 1 unsafe, 0 safe, NaN unknown. ``known``: (n, K+1) 0/1 mask of known-positive
    categories (column 0 unused). ``prior``: (n, K+1) target distribution for the graph prior,
    or ``None`` for a flat prior.
    """

    x: torch.Tensor
    unsafe: torch.Tensor
    known: torch.Tensor
    prior: torch.Tensor | None = None
    #: Per-row loss weights (class balancing), or ``None`` for equal weights.
    weight: torch.Tensor | None = None


class LEModel(nn.Module):
    """Amortised Dirichlet/Gaussian posterior with a feature decoder."""

    def __init__(self, in_dim: int, n_classes: int, hp: LEHyperParams | None = None) -> None:
        super().__init__()
        self.hp = hp or LEHyperParams()
        self.in_dim = in_dim
        self.n_classes = n_classes
        h = self.hp.hidden
        self.trunk = nn.Sequential(
            nn.Linear(in_dim, h), nn.GELU(), nn.Dropout(self.hp.dropout), nn.Linear(h, h), nn.GELU()
        )
        self.alpha_head = nn.Linear(h, n_classes)
        self.mu_head = nn.Linear(h, self.hp.latent_dim)
        self.logvar_head = nn.Linear(h, self.hp.latent_dim)
        self.clf_head = nn.Linear(h, n_classes)
        self.decoder = nn.Sequential(
            nn.Linear(n_classes + self.hp.latent_dim, h), nn.GELU(), nn.Linear(h, in_dim)
        )

    # -- inference -------------------------------------------------------------------------

    def concentrations(self, x: torch.Tensor) -> torch.Tensor:
        """alpha(x), clamped into [alpha_min, alpha_max]."""
        a = nn.functional.softplus(self.alpha_head(self.trunk(x))) + self.hp.alpha_min
        return a.clamp(max=self.hp.alpha_max)

    def posterior(self, x: torch.Tensor) -> tuple[Dirichlet, Normal, torch.Tensor]:
        """q(d|x), q(s|x) and the trunk features (for the co-trained head)."""
        z = self.trunk(x)
        a = (nn.functional.softplus(self.alpha_head(z)) + self.hp.alpha_min).clamp(max=self.hp.alpha_max)
        logvar = self.logvar_head(z).clamp(-8.0, 8.0)
        return Dirichlet(a), Normal(self.mu_head(z), torch.exp(0.5 * logvar)), z

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean E[d] = alpha / sum(alpha) and the confidence sum(alpha)."""
        a = self.concentrations(x)
        total = a.sum(-1)
        return a / total.unsqueeze(-1), total

    # -- objective -------------------------------------------------------------------------

    def loss(self, batch: LEBatch) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO (averaged over the batch) and its parts for logging."""
        hp = self.hp
        q_d, q_s, z = self.posterior(batch.x)
        a = q_d.concentration
        a_sum = a.sum(-1)
        dig_sum = torch.digamma(a_sum)
        e_log_d = torch.digamma(a) - dig_sum.unsqueeze(-1)  # E[log d_k]
        e_log_safe = e_log_d[:, 0]
        e_log_unsafe = torch.digamma(a_sum - a[:, 0]) - dig_sum  # 1 - d_0 ~ Beta(sum - a_0, a_0)

        has_y = ~torch.isnan(batch.unsafe)
        y = torch.nan_to_num(batch.unsafe, nan=0.0)
        nll_y = -(y * e_log_unsafe + (1 - y) * e_log_safe) * has_y

        known = batch.known.clone()
        known[:, 0] = 0
        n_known = known.sum(-1)
        # mean over the known positives of E[log d_c - log(1 - d_0)]; unknown categories add nothing
        nll_c = -((e_log_d * known).sum(-1) - n_known * e_log_unsafe) / n_known.clamp(min=1)

        d = q_d.rsample()
        s = q_s.rsample()
        x_hat = self.decoder(torch.cat([d, s], dim=-1))
        rec = ((batch.x - x_hat) ** 2).mean(-1)

        if batch.prior is not None and hp.prior_tau > 0:
            prior_a = hp.prior_floor + hp.prior_tau * batch.prior
        else:
            prior_a = torch.full_like(a, hp.prior_floor)
        kl_d = kl_divergence(q_d, Dirichlet(prior_a))
        kl_s = kl_divergence(q_s, Normal(torch.zeros_like(q_s.loc), torch.ones_like(q_s.scale))).sum(-1)

        total = hp.lambda_y * nll_y + hp.lambda_c * nll_c + hp.lambda_x * rec + hp.beta_d * kl_d + hp.beta_s * kl_s
        parts = {
            "nll_y": float(nll_y.detach().mean()),
            "nll_c": float(nll_c.detach().mean()),
            "rec": float(rec.detach().mean()),
            "kl_d": float(kl_d.detach().mean()),
            "kl_s": float(kl_s.detach().mean()),
        }
        if hp.lambda_clf > 0:
            logp = torch.log_softmax(self.clf_head(z), -1)
            tgt = known.clone()
            tgt[:, 0] = (1 - y) * has_y
            has_t = tgt.sum(-1) > 0
            ce = -(logp * tgt).sum(-1) / tgt.sum(-1).clamp(min=1)
            # unsafe with no known category: maximise log(1 - p_safe) instead
            p_unsafe = torch.logsumexp(logp[:, 1:], -1)
            ce = torch.where(has_t, ce, -p_unsafe * (y * has_y))
            total = total + hp.lambda_clf * ce
            parts["clf"] = float(ce.detach().mean())
        loss = (total * batch.weight).sum() / batch.weight.sum() if batch.weight is not None else total.mean()
        parts["loss"] = float(loss.detach())
        return loss, parts
