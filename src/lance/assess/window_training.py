"""Training the window gate: the shipped gate's recipe on its mix plus windows (``window_data``).

Same architecture and recipe as ``lance train-gate`` (MiniLM's top 3 layers fine-tuned on
cached 64-token hidden states, 2 epochs at lr 2e-4, then the LE head), on the gate mix plus the
training split of the window data. Selection figures come from the window data's validation
split (hosts hashed apart, never a test split). ``lance train-window-gate`` is its command line.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

#: The window gate's encoder name: MiniLM with the window-tuned top (an LE head trained on it
#: refuses any other encoder).
WINDOW_TAG = "+lance-window-v1"


class WindowGateConfig(BaseModel):
    """One window-gate run. Defaults: the shipped gate's recipe plus the window data."""

    model_config = ConfigDict(extra="forbid")

    n_top: int = Field(default=3, ge=1, le=6)
    epochs: int = Field(default=2, ge=1)
    lr: float = Field(default=2e-4, gt=0)
    lambda_cat: float = Field(default=0.5, ge=0)
    max_per_part: int = Field(default=3000, ge=1)
    seed: int = 0
    #: Host counts per kind (``window_data.build_hosts``).
    n_code: int = 500
    n_docs: int = 500
    n_tables: int = 250
    n_templates: int = 200
    n_lists: int = 500
    n_system: int = 900
    #: Clean windows kept per unspliced host.
    neg_per_host: int = Field(default=6, ge=1)
    #: Share of hosts with a harmful request spliced in.
    spliced_share: float = Field(default=0.5, ge=0, le=1)
    exclude_families: list[str] = Field(default_factory=lambda: ["games_fiction", "defensive"])
    top_output: Path | None = None
    le_output: Path | None = None
    hs_cache: Path | None = None
    results_json: Path | None = None


def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def val_figures(records: list[Any], risk: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Validation figures per host kind: benign windows flagged, unsafe windows caught, AUROC."""
    y = np.array([r.label == "unsafe" for r in records])
    out: dict[str, Any] = {"n": len(records), "auroc": _auroc(y, risk),
                           "benign_flagged": float((risk[~y] >= threshold).mean()) if (~y).any() else float("nan"),
                           "unsafe_caught": float((risk[y] >= threshold).mean()) if y.any() else float("nan")}
    for kind in sorted({r.meta["kind"] for r in records}):
        m = np.array([r.meta["kind"] == kind for r in records])
        out[kind] = {"benign_flagged": float((risk[m & ~y] >= threshold).mean()) if (m & ~y).any() else None,
                     "unsafe_caught": float((risk[m & y] >= threshold).mean()) if (m & y).any() else None}
    return out


def window_dataset(cfg: WindowGateConfig, tokenizer: Any) -> list[Any]:
    from lance.assess.window_data import build_hosts, harmful_requests, window_records

    hosts = build_hosts(cfg.seed, n_code=cfg.n_code, n_docs=cfg.n_docs, n_tables=cfg.n_tables,
                        n_templates=cfg.n_templates, n_lists=cfg.n_lists, n_system=cfg.n_system)

    def tokenize(text: str) -> list[tuple[int, int]]:
        return tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]

    return window_records(hosts, harmful_requests(), tokenize, seed=cfg.seed, neg_per_host=cfg.neg_per_host,
                          spliced_share=cfg.spliced_share)


def train_window_gate(cfg: WindowGateConfig) -> dict[str, Any]:
    """Run ``cfg``; write the window top and its LE head when asked; return the figures."""
    import torch

    from lance.assess.checkpoint import LECheckpoint
    from lance.assess.model import LEHyperParams
    from lance.assess.top_training import _bert, cached_hidden_states, embed_top, position_bias_of, top_state, train_top
    from lance.assess.train import TrainConfig, fit, targets
    from lance.datasets.lookalikes import gate_mix
    from lance.embeddings.encoder import DEFAULT_ENCODER, get_encoder
    from lance.embeddings.top import save_top
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy()
    enc = get_encoder(DEFAULT_ENCODER)
    bert, n_layers = _bert(enc), len(_bert(enc).encoder.layer)
    bias = position_bias_of(bert)
    windows = window_dataset(cfg, enc._model.tokenizer)
    w_train = [r for r in windows if r.split == "train"]
    w_val = [r for r in windows if r.split == "val"]
    train = gate_mix(cfg.seed, exclude=list(cfg.exclude_families), max_per_part=cfg.max_per_part) + w_train
    log.info("window gate: %d mix + %d window records to train, %d windows to validate",
             len(train) - len(w_train), len(w_train), len(w_val))
    texts = [r.text for r in train] + [r.text for r in w_val]
    hs = cached_hidden_states(enc, texts, cfg.n_top, 64, cfg.hs_cache)
    a = len(train)
    u_tr, k_tr = targets(train, tax.ids)
    layers = [copy.deepcopy(layer) for layer in bert.encoder.layer[n_layers - cfg.n_top :]]
    info = train_top(layers, hs[:a], u_tr, k_tr, epochs=cfg.epochs, lr=cfg.lr, lambda_cat=cfg.lambda_cat,
                     seed=cfg.seed, bias=bias)
    emb = embed_top(layers, hs, bias=bias)
    model, hist = fit(emb[:a], u_tr, k_tr, LEHyperParams(), TrainConfig(seed=cfg.seed), progress=False)
    probs, _ = model.predict(torch.from_numpy(emb[a:]))
    risk = 1 - probs.numpy()[:, 0]
    res: dict[str, Any] = {"config": cfg.model_dump(mode="json"), "n_train": a, "n_window_train": len(w_train),
                           "top": info, "le_best_epoch": hist["best_epoch"], "val": val_figures(w_val, risk)}
    log.info("window gate val: %s", res["val"])
    name = f"{DEFAULT_ENCODER}{WINDOW_TAG}"
    command = "lance train-window-gate " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in cfg.model_dump().items()
        if v != getattr(WindowGateConfig(), k) and v is not None)
    if cfg.top_output:
        save_top(cfg.top_output, top_state(layers, n_layers), name=name,
                 info={"n_top": cfg.n_top, "train": info, "command": command, "seed": cfg.seed})
    if cfg.le_output:
        meta = {"n_records": a, "n_unsafe": int(u_tr.sum()), "n_window_records": len(w_train),
                "sources": sorted({r.source for r in train}), "command": command,
                "history": {k: v for k, v in hist.items() if k not in ("train_loss", "val_loss")}}
        LECheckpoint(model=model, taxonomy_fingerprint=tax.fingerprint(), taxonomy_ids=tax.ids,
                     encoder_name=name, info=meta).save(cfg.le_output)
    if cfg.results_json:
        cfg.results_json.parent.mkdir(parents=True, exist_ok=True)
        cfg.results_json.write_text(json.dumps(res, indent=1, default=str))
    return res
