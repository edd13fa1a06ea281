"""Training the LE model: records -> embeddings -> targets -> fitted model -> checkpoint.

Embeddings are computed once per run (and optionally cached on disk); the kNN graph prior
is computed once from the training labels; then minibatch Adam on the negative ELBO with
early stopping on a held-out validation share.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from lance.assess.checkpoint import LECheckpoint
from lance.embeddings.cache import embed
from lance.embeddings.encoder import Encoder
from lance.assess.graph import propagate
from lance.assess.model import LEBatch, LEHyperParams, LEModel
from lance.datasets.records import Record
from lance.errors import InputError
from lance.taxonomy import Taxonomy


class TrainConfig(BaseModel):
    """How to fit (as opposed to what to fit: that is ``LEHyperParams``)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    epochs: int = Field(default=40, ge=1)
    batch_size: int = Field(default=256, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=1e-2, ge=0)
    #: Share of the (non-test) rows held out for early stopping.
    val_frac: float = Field(default=0.1, ge=0.0, lt=1.0)
    #: Epochs without a val-loss improvement before stopping.
    patience: int = Field(default=5, ge=1)
    #: Reweight rows so safe and unsafe carry equal total weight.
    balance: bool = True


def targets(records: Sequence[Record], ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``unsafe`` (n,) in {0, 1} and the (n, C) known-positive mask from records."""
    col = {c: i for i, c in enumerate(ids)}
    unsafe = np.array([1.0 if r.label == "unsafe" else 0.0 for r in records], dtype=np.float32)
    known = np.zeros((len(records), len(ids)), dtype=np.float32)
    for i, r in enumerate(records):
        for c in r.categories:
            if c in col and c != ids[0]:
                known[i, col[c]] = 1.0
    return unsafe, known


def seed_matrix(unsafe: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Observed label vectors for propagation: safe one-hot, known categories, else uniform risk.

    NaN in ``unsafe`` (unlabelled row, e.g. validation) gives an empty seed.
    """
    n, c = known.shape
    seeds = np.zeros((n, c), dtype=np.float32)
    lab = ~np.isnan(unsafe)
    safe = lab & (unsafe < 0.5)
    seeds[safe, 0] = 1.0
    uns = lab & (unsafe >= 0.5)
    cats = known.copy()
    cats[:, 0] = 0
    has = cats.sum(1) > 0
    seeds[uns & has] = cats[uns & has] / cats[uns & has].sum(1, keepdims=True)
    seeds[uns & ~has, 1:] = 1.0 / (c - 1)
    return seeds


def graph_prior(x: np.ndarray, unsafe: np.ndarray, known: np.ndarray, hp: LEHyperParams) -> np.ndarray | None:
    """kNN-propagated label distributions used as the Dirichlet prior's mean."""
    if hp.prior_tau <= 0:
        return None
    return propagate(x, seed_matrix(unsafe, known), k=hp.knn_k, alpha=hp.knn_alpha)


def _batch(idx: np.ndarray, x: torch.Tensor, unsafe: torch.Tensor, known: torch.Tensor,
           prior: torch.Tensor | None, weight: torch.Tensor | None) -> LEBatch:
    t = torch.from_numpy(idx)
    return LEBatch(
        x=x[t], unsafe=unsafe[t], known=known[t],
        prior=prior[t] if prior is not None else None,
        weight=weight[t] if weight is not None else None,
    )


def fit(
    x: np.ndarray,
    unsafe: np.ndarray,
    known: np.ndarray,
    hp: LEHyperParams | None = None,
    cfg: TrainConfig | None = None,
    *,
    progress: bool = True,
    log: Any = None,
) -> tuple[LEModel, dict[str, Any]]:
    """Fit an LE model on embeddings ``x`` with coarse labels; returns the best-on-val model.

    ``unsafe`` is 1/0 per row; ``known`` the (n, C) known-positive mask. History holds the
    per-epoch train/val loss and the stopping epoch.
    """
    hp = hp or LEHyperParams()
    cfg = cfg or TrainConfig()
    n = x.shape[0]
    if n < 2:
        raise InputError("training needs at least two records")
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    perm = rng.permutation(n)
    n_val = int(round(n * cfg.val_frac)) if cfg.val_frac > 0 else 0
    n_val = min(n_val, n - 1)
    val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])

    # graph prior from training labels only, so validation stays honest
    masked = unsafe.astype(np.float32).copy()
    masked[val_idx] = np.nan
    known_tr = known.copy()
    known_tr[val_idx] = 0
    prior_np = graph_prior(x, masked, known_tr, hp)

    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ut = torch.from_numpy(unsafe.astype(np.float32))
    kt = torch.from_numpy(known.astype(np.float32))
    pt = torch.from_numpy(prior_np) if prior_np is not None else None
    wt = None
    if cfg.balance:
        pos = float(unsafe.sum())
        neg = float(n - pos)
        if pos > 0 and neg > 0:
            w = np.where(unsafe >= 0.5, n / (2 * pos), n / (2 * neg)).astype(np.float32)
            wt = torch.from_numpy(w)

    model = LEModel(x.shape[1], known.shape[1], hp)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history: dict[str, Any] = {"train_loss": [], "val_loss": [], "n_train": len(tr_idx), "n_val": len(val_idx)}
    best = (math.inf, copy.deepcopy(model.state_dict()), 0)
    bad = 0
    steps = max(1, math.ceil(len(tr_idx) / cfg.batch_size))

    bar = _progress(progress, cfg.epochs)
    t0 = time.perf_counter()
    try:
        for epoch in range(cfg.epochs):
            model.train()
            order = rng.permutation(tr_idx)
            total = 0.0
            for s in range(steps):
                b = order[s * cfg.batch_size : (s + 1) * cfg.batch_size]
                if len(b) == 0:
                    continue
                loss, _ = model.loss(_batch(b, xt, ut, kt, pt, wt))
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                total += float(loss.detach()) * len(b)
            train_loss = total / len(tr_idx)
            val_loss = evaluate_loss(model, _batch(val_idx, xt, ut, kt, pt, wt)) if len(val_idx) else train_loss
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            if bar is not None:
                bar.update(epoch, train_loss, val_loss)
            if log is not None:
                log(epoch, train_loss, val_loss)
            if val_loss < best[0] - 1e-4:
                best = (val_loss, copy.deepcopy(model.state_dict()), epoch)
                bad = 0
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
    finally:
        if bar is not None:
            bar.close()
    model.load_state_dict(best[1])
    model.eval()
    history.update(best_epoch=best[2], best_val_loss=best[0], epochs_run=len(history["train_loss"]),
                   seconds=round(time.perf_counter() - t0, 2))
    return model, history


@torch.no_grad()
def evaluate_loss(model: LEModel, batch: LEBatch, seed: int = 1234) -> float:
    """Negative ELBO on a batch with dropout off and a fixed sampling seed (comparable across epochs)."""
    was = model.training
    model.eval()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        loss, _ = model.loss(batch)
    model.train(was)
    return float(loss)


class _Bar:
    def __init__(self, epochs: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("training LE"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                           TextColumn("{task.fields[info]}"), TimeElapsedColumn(), transient=False)
        self._p.start()
        self._t = self._p.add_task("train", total=epochs, info="")

    def update(self, epoch: int, tr: float, va: float) -> None:
        self._p.update(self._t, completed=epoch + 1, info=f"loss {tr:.4f} val {va:.4f}")

    def close(self) -> None:
        self._p.stop()


def _progress(enabled: bool, epochs: int) -> _Bar | None:
    return _Bar(epochs) if enabled else None


def train_le(
    records: Sequence[Record],
    *,
    taxonomy: Taxonomy,
    encoder: Encoder,
    hp: LEHyperParams | None = None,
    cfg: TrainConfig | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    info: dict[str, Any] | None = None,
) -> tuple[LECheckpoint, dict[str, Any]]:
    """Embed ``records`` (test split excluded by the caller), fit, and wrap as a checkpoint."""
    if not records:
        raise InputError("no training records")
    x = embed([r.text for r in records], encoder, cache_dir)
    unsafe, known = targets(records, taxonomy.ids)
    model, history = fit(x, unsafe, known, hp, cfg, progress=progress)
    cfg = cfg or TrainConfig()
    meta = {
        "n_records": len(records),
        "n_unsafe": int(unsafe.sum()),
        "n_categorised": int((known[:, 1:].sum(1) > 0).sum()),
        "sources": sorted({r.source for r in records}),
        "train_config": cfg.model_dump(),
        "history": {k: v for k, v in history.items() if k not in ("train_loss", "val_loss")},
    }
    meta.update(info or {})
    ckpt = LECheckpoint(model=model, taxonomy_fingerprint=taxonomy.fingerprint(), taxonomy_ids=taxonomy.ids,
                        encoder_name=encoder.name, info=meta)
    return ckpt, history
