"""Training the safety gate: fine-tune the encoder's top layer(s), then the LE head on them.

The frozen mean-pooled MiniLM embedding barely separates harmful prompts from benign
look-alikes ("kill a Python process"); re-training only the top layer(s) with a supervised
safe/unsafe (+ known category) objective fixes most of that cheaply (``top_training``).
Selection uses the gate mix's own test split; XSTest is never used, only reported on request.
``lance train-gate`` is the command line of ``train_gate``; its defaults are the shipped recipe
(``encoder_top.pt`` + ``default.pt``, docs/label_enhancement.md).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)


class GateTrainingConfig(BaseModel):
    """One gate-training run. Defaults: the recipe of the shipped gate."""

    model_config = ConfigDict(extra="forbid")

    #: Base sentence encoder: the packaged MiniLM, ``all-mpnet-base-v2``, or a local sentence-transformers folder.
    encoder: str | None = None
    #: How many top layers to fine-tune.
    n_top: int = Field(default=3, ge=1, le=12)
    #: Fine-tuning epochs; 0 = the frozen encoder through the same path (the baseline).
    epochs: int = Field(default=2, ge=0)
    lr: float = Field(default=2e-4, gt=0)
    #: Weight of the known-category loss next to the safe/unsafe loss.
    lambda_cat: float = Field(default=0.5, ge=0)
    #: Cap per part of the training mix (``training_mix``).
    max_per_part: int = Field(default=3000, ge=1)
    seed: int = 0
    #: Tokens per training text (the gate is trained on prompts' openings).
    max_tokens: int = Field(default=64, ge=8)
    #: Train on ``gate_mix``: + generated look-alikes and (unless ``mine`` is off) mined alarming Alpaca prompts.
    lookalikes: bool = True
    mine: bool = True
    #: Look-alike families held out of training and selection (the generalisation check).
    exclude_families: list[str] = Field(default_factory=lambda: ["games_fiction", "defensive"])
    top_output: Path | None = None
    le_output: Path | None = None
    #: Also score XSTest (report only; never used to select).
    report_xstest: bool = False
    #: Torch file caching hidden states between runs.
    hs_cache: Path | None = None
    #: Write every metric here as JSON.
    results_json: Path | None = None
    #: Fine-tune one top per seed (each on its own mix sample) and ship their weight average.
    soup_seeds: list[int] = Field(default_factory=list)
    #: Encoder-top files (same ``n_top``) to average instead of fine-tuning.
    soup_from: list[Path] = Field(default_factory=list)
    #: Dataset names left out of the training mix (the selection split is unchanged).
    drop_sources: list[str] = Field(default_factory=list)
    #: HarmBench contextual behaviours as request + context, in training and selection.
    request_first: bool = False
    #: Add ``lance.taxonomy.item_labels``' per-prompt categories to the training mix.
    item_categories: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> GateTrainingConfig:
        if len(set(self.soup_seeds)) != len(self.soup_seeds):
            raise ValueError(f"soup_seeds repeats a seed: {self.soup_seeds}")
        if self.soup_seeds and self.soup_from:
            raise ValueError("soup_seeds and soup_from are alternatives; give one")
        if (self.soup_seeds or self.soup_from) and self.epochs == 0:
            raise ValueError("a soup averages fine-tuned tops; it needs epochs > 0")
        from lance.datasets import list_datasets
        from lance.datasets.lookalikes import SOURCE

        known = {d.name for d in list_datasets()} | {SOURCE}
        unknown = sorted(set(self.drop_sources) - known)
        if unknown:
            raise ValueError(f"drop_sources: unknown dataset(s) {unknown}; known: {sorted(known)}")
        return self

    def command(self) -> str:
        """The ``lance train-gate`` command line that reproduces this run (recorded in the checkpoints)."""
        default = GateTrainingConfig()
        parts = ["lance train-gate"]
        for name, value in self.model_dump().items():
            if value == getattr(default, name) or value is None:
                continue
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                parts.append(flag if value else "--no-" + name.replace("_", "-"))
            elif isinstance(value, list):
                parts.append(f"{flag} {','.join(map(str, value)) or chr(39) * 2}")
            else:
                parts.append(f"{flag} {value}")
        return " ".join(parts)


def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def train_gate(cfg: GateTrainingConfig) -> dict[str, Any]:
    """Run ``cfg``: writes the tuned top and the LE checkpoint when asked; returns every metric."""
    import torch

    from lance.assess.checkpoint import LECheckpoint
    from lance.assess.gate_metrics import category_scores, gate_scores, held_out_categorised
    from lance.assess.model import LEHyperParams
    from lance.assess.top_training import (
        _bert,
        average_states,
        cached_hidden_states,
        embed_top,
        load_state,
        position_bias_of,
        top_state,
        train_top,
    )
    from lance.assess.train import TrainConfig, fit, targets
    from lance.datasets import load_dataset, training_mix
    from lance.datasets.lookalikes import SOURCE, gate_mix, has_alarming_words, lookalike_records
    from lance.embeddings.encoder import DEFAULT_ENCODER, get_encoder
    from lance.embeddings.top import TOP_TAG, load_top, save_top
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy()
    enc = get_encoder(cfg.encoder or DEFAULT_ENCODER)
    bert = _bert(enc)
    bias = position_bias_of(bert)
    n_layers = len(bert.encoder.layer)
    excl, drop = list(cfg.exclude_families), set(cfg.drop_sources)

    def mix(seed: int) -> list[Any]:
        if cfg.lookalikes:
            recs = gate_mix(seed, exclude=excl, mine=cfg.mine, max_per_part=cfg.max_per_part,
                            contextual_request_first=cfg.request_first, item_categories=cfg.item_categories)
        else:
            recs = training_mix(seed, max_per_part=cfg.max_per_part, contextual_request_first=cfg.request_first,
                                item_categories=cfg.item_categories)
        return [r for r in recs if r.source not in drop]

    train = mix(cfg.seed)
    # selection data: always the full gate mix's test split (same for every candidate)
    test = gate_mix(cfg.seed, splits=("test",), exclude=excl, max_per_part=cfg.max_per_part,
                    contextual_request_first=cfg.request_first)
    held = held_out_categorised()
    # generalisation: never trained on or selected with
    gen_fam = lookalike_records(families=excl) if excl else []
    mod = load_dataset("openai_moderation")
    cast = [r for r in load_dataset("ibm_cast") if r.meta.get("file") == "harmful"]
    xs = load_dataset("xstest") if cfg.report_xstest else []
    # a soup's other seeds train on their own mix samples: their texts ride along at the end
    soup_train = {sd: train if sd == cfg.seed else mix(sd) for sd in cfg.soup_seeds}
    extra = sorted({r.text for sd, recs in soup_train.items() if sd != cfg.seed for r in recs})
    parts = [train, test, held, gen_fam, mod, cast, xs]
    texts = [r.text for p in parts for r in p]
    cuts = np.cumsum([0] + [len(p) for p in parts])
    hs_all = cached_hidden_states(enc, texts + extra, cfg.n_top, cfg.max_tokens, cfg.hs_cache)
    hs, hs_by_text = hs_all[: len(texts)], dict(zip(texts + extra, hs_all))
    a = cuts[1]
    u_tr, k_tr = targets(train, tax.ids)
    layers = [copy.deepcopy(layer) for layer in bert.encoder.layer[n_layers - cfg.n_top :]]
    info: dict[str, Any]
    if cfg.soup_seeds:
        states, runs = [], []
        for sd, recs in soup_train.items():
            cand = [copy.deepcopy(layer) for layer in layers]
            u_s, k_s = targets(recs, tax.ids)
            log.info("soup member seed %d: %d records", sd, len(recs))
            runs.append({"seed": sd} | train_top(cand, [hs_by_text[r.text] for r in recs], u_s, k_s, epochs=cfg.epochs,
                                                 lr=cfg.lr, lambda_cat=cfg.lambda_cat, seed=sd, bias=bias))
            states.append(top_state(cand, n_layers))
        load_state(layers, average_states(states), n_layers)
        info = {"soup_seeds": cfg.soup_seeds, "members": runs}
    elif cfg.soup_from:
        tops = [load_top(f) for f in cfg.soup_from]
        load_state(layers, average_states([t["state"] for t in tops]), n_layers)
        info = {"soup_from": [f"{f.name}:{t['digest']}" for f, t in zip(cfg.soup_from, tops)]}
    elif cfg.epochs > 0:
        info = train_top(layers, hs[:a], u_tr, k_tr, epochs=cfg.epochs, lr=cfg.lr, lambda_cat=cfg.lambda_cat,
                         seed=cfg.seed, bias=bias)
    else:
        info = {"frozen": True}  # epochs 0: the frozen baseline through the very same path
    log.info("top trained: %s", info)
    emb = embed_top(layers, hs, bias=bias)
    model, hist = fit(emb[:a], u_tr, k_tr, LEHyperParams(), TrainConfig(seed=cfg.seed), progress=False)
    log.info("LE head: best epoch %d of %d", hist["best_epoch"], hist["epochs_run"])
    probs, _ = model.predict(torch.from_numpy(emb))
    risk = 1 - probs.numpy()[:, 0]
    seg = {name: risk[cuts[i]:cuts[i + 1]] for i, name in enumerate(("train", "test", "held", "fam", "mod", "cast", "xs"))}
    res: dict[str, Any] = {"config": cfg.model_dump(mode="json"), "n_train": int(a), "top": info}

    u_te = np.array([r.label == "unsafe" for r in test])
    res["test_gate_auroc"] = _auroc(u_te, seg["test"])
    groups = {
        "coconot_contrast": lambda r: r.source == "coconot",
        "generated": lambda r: r.source == SOURCE,
        "alarming_public": lambda r: r.source != SOURCE and has_alarming_words(r.text),
    }
    look = np.zeros(len(test), bool)
    for gname, f in groups.items():
        m = np.array([r.label == "unsafe" or f(r) for r in test])
        look |= m & ~u_te
        res[f"test_unsafe_vs_{gname}_auroc"] = _auroc(u_te[m], seg["test"][m])
    mm = look | u_te
    res["test_lookalike_auroc"] = _auroc(u_te[mm], seg["test"][mm])
    thr = float(np.quantile(seg["test"][u_te], 0.05))
    res["test_lookalikes_flagged_at95"] = float((seg["test"][look] >= thr).mean())
    if gen_fam:
        res["heldout_families_flagged_at95"] = {f: float((seg["fam"][[r.meta["family"] == f for r in gen_fam]] >= thr).mean())
                                                for f in excl}
    res["openai_moderation_auroc"] = _auroc(np.array([r.label == "unsafe" for r in mod]), seg["mod"])
    res["ibm_cast_harmful_auroc"] = _auroc(np.array([r.label == "unsafe" for r in cast]), seg["cast"])
    res["held_categories"] = category_scores(tax.ids, probs.numpy()[cuts[2]:cuts[3]], [r.categories for r in held])
    if xs:
        res["xstest"] = gate_scores(np.array([r.label == "unsafe" for r in xs]).astype(int), seg["xs"],
                                    [str(r.meta.get("type")) for r in xs])
    if cfg.results_json:
        cfg.results_json.parent.mkdir(parents=True, exist_ok=True)
        cfg.results_json.write_text(json.dumps(res, indent=1, default=str))
    name = f"{enc.name}{TOP_TAG}"
    command = cfg.command()
    if cfg.top_output:
        save_top(cfg.top_output, top_state(layers, n_layers), name=name,
                 info={"n_top": cfg.n_top, "train": info, "command": command, "seed": cfg.seed})
        log.info("wrote %s", cfg.top_output)
    if cfg.le_output:
        meta = {"n_records": int(a), "n_unsafe": int(u_tr.sum()), "n_categorised": int((k_tr[:, 1:].sum(1) > 0).sum()),
                "sources": sorted({r.source for r in train}), "train_config": TrainConfig(seed=cfg.seed).model_dump(),
                "history": {k: v for k, v in hist.items() if k not in ("train_loss", "val_loss")}, "command": command}
        LECheckpoint(model=model, taxonomy_fingerprint=tax.fingerprint(), taxonomy_ids=tax.ids,
                     encoder_name=name if cfg.epochs > 0 else enc.name, info=meta).save(cfg.le_output)
        log.info("wrote %s", cfg.le_output)
    return res
