"""Fine-tune MiniLM's top transformer layer(s) for the safety gate, cheaply.

The frozen mean-pooled MiniLM embedding barely separates harmful prompts from benign
look-alikes ("kill a Python process"). Re-training only the last layer(s) plus pooling with a
supervised safe/unsafe (+ known category) objective fixes most of that at a small cost: the
hidden states entering the tuned layer(s) are computed once (token level, with masks), then
only the top runs per step. Selection uses the training mix's own test split; XSTest is
never used here.

    python -m lance.assess.finetune --top-output src/lance/assess/checkpoints/encoder_top.pt \
        --le-output src/lance/assess/checkpoints/default.pt

``--encoder`` swaps in another local sentence-transformers model (BERT- or MPNet-style), the
way the larger-encoder measurements in docs/label_enhancement.md were made.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

MAX_TOKENS = 256


def _bert(encoder: Any) -> Any:
    return encoder._model[0].auto_model


def _additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


#: Computes a layer stack's relative position bias from its input (MPNet); None for BERT-style models.
PositionBias = Callable[[torch.Tensor], torch.Tensor] | None


def position_bias_of(backbone: Any) -> PositionBias:
    """MPNet layers take the encoder's relative position bias as an input (shared by all layers,
    computed from the hidden states' shape); BERT-style layers need nothing."""
    return getattr(backbone.encoder, "compute_position_bias", None)


def run_layers(layers: Sequence[nn.Module], h: torch.Tensor, mask: torch.Tensor, bias: PositionBias = None) -> torch.Tensor:
    am = _additive_mask(mask, h.dtype)
    extra = {"position_bias": bias(h)} if bias is not None else {}
    for layer in layers:
        out = layer(h, attention_mask=am, **extra)
        h = out[0] if isinstance(out, tuple) else out
    return h


def pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean pooling over real tokens, then L2 normalisation (as sentence-transformers does)."""
    m = mask.unsqueeze(-1).to(h.dtype)
    e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return nn.functional.normalize(e, dim=-1)


@torch.no_grad()
def hidden_states(encoder: Any, texts: Sequence[str], n_top: int, batch: int = 64, max_tokens: int = MAX_TOKENS,
                  log: Any = print) -> list[torch.Tensor]:
    """Per text, the (tokens, hidden) fp16 hidden state entering the top ``n_top`` layers."""
    bert = _bert(encoder)
    tok = encoder._model.tokenizer
    n_layers = len(bert.encoder.layer)
    enc = tok(list(texts), truncation=True, max_length=max_tokens)
    ids = enc["input_ids"]
    order = np.argsort([len(i) for i in ids])
    out: list[torch.Tensor | None] = [None] * len(ids)
    t0 = time.perf_counter()
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        L = max(len(ids[i]) for i in idx)
        x = torch.zeros(len(idx), L, dtype=torch.long)
        m = torch.zeros(len(idx), L, dtype=torch.long)
        for j, i in enumerate(idx):
            x[j, : len(ids[i])] = torch.tensor(ids[i])
            m[j, : len(ids[i])] = 1
        hs = bert(input_ids=x, attention_mask=m, output_hidden_states=True).hidden_states[n_layers - n_top]
        for j, i in enumerate(idx):
            out[i] = hs[j, : len(ids[i])].to(torch.float16).clone()
        if log and (s // batch) % 40 == 0:
            log(f"  hidden states {s + len(idx)}/{len(ids)} ({time.perf_counter() - t0:.0f}s)")
    return out  # type: ignore[return-value]


def _pad(hs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(h.shape[0] for h in hs)
    x = torch.zeros(len(hs), L, hs[0].shape[1])
    m = torch.zeros(len(hs), L, dtype=torch.long)
    for j, h in enumerate(hs):
        x[j, : h.shape[0]] = h.float()
        m[j, : h.shape[0]] = 1
    return x, m


@torch.no_grad()
def embed_top(layers: Sequence[nn.Module], hs: Sequence[torch.Tensor], batch: int = 128, *,
              bias: PositionBias = None) -> np.ndarray:
    """Pooled, normalised embeddings from cached hidden states through ``layers``."""
    for layer in layers:
        layer.eval()
    order = np.argsort([h.shape[0] for h in hs])
    out = np.zeros((len(hs), hs[0].shape[1]), dtype=np.float32)
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        x, m = _pad([hs[i] for i in idx])
        out[idx] = pool(run_layers(layers, x, m, bias), m).numpy()
    return out


def train_top(layers: list[nn.Module], hs: Sequence[torch.Tensor], unsafe: np.ndarray, known: np.ndarray, *,
              epochs: int = 2, lr: float = 3e-5, head_lr: float = 1e-3, batch: int = 32, lambda_cat: float = 0.5,
              seed: int = 0, log: Any = print, bias: PositionBias = None) -> dict[str, Any]:
    """Supervised fine-tuning of ``layers`` in place: balanced BCE on unsafe + CE on known categories."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dim, n_cls = hs[0].shape[1], known.shape[1]
    head = nn.Linear(dim, n_cls)  # column 0: unsafe logit; 1..: category logits
    scale = 20.0
    params = [p for layer in layers for p in layer.parameters()]
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": head_lr}],
                            weight_decay=0.01)
    n = len(hs)
    pos = float(unsafe.sum())
    w = np.where(unsafe >= 0.5, n / (2 * pos), n / (2 * (n - pos))).astype(np.float32)
    order = np.argsort([h.shape[0] for h in hs])
    chunks = [order[s : s + batch] for s in range(0, n, batch)]
    total_steps = epochs * len(chunks)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / total_steps))
    hist: list[float] = []
    t0 = time.perf_counter()
    for ep in range(epochs):
        for layer in layers:
            layer.train()
        tot = 0.0
        for k, ci in enumerate(rng.permutation(len(chunks))):
            idx = chunks[ci]
            x, m = _pad([hs[i] for i in idx])
            e = pool(run_layers(layers, x, m, bias), m)
            logits = head(e) * scale / math.sqrt(dim) * 4
            y = torch.from_numpy(unsafe[idx])
            wt = torch.from_numpy(w[idx])
            bce = nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y, weight=wt)
            kn = torch.from_numpy(known[idx, 1:])
            has = kn.sum(1) > 0
            loss = bce
            if has.any():
                logp = torch.log_softmax(logits[has, 1:], -1)
                tgt = kn[has] / kn[has].sum(1, keepdim=True)
                loss = loss + lambda_cat * (-(logp * tgt).sum(1)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            tot += float(loss.detach())
            if log and k % 100 == 0:
                log(f"  epoch {ep} step {k}/{len(chunks)} loss {tot / (k + 1):.4f} ({time.perf_counter() - t0:.0f}s)")
        hist.append(tot / len(chunks))
    for layer in layers:
        layer.eval()
    return {"epoch_loss": hist, "seconds": round(time.perf_counter() - t0, 1)}


def top_state(layers: Sequence[nn.Module], n_layers: int) -> dict[str, torch.Tensor]:
    """fp16 state of the tuned layers keyed by their index in the full encoder."""
    first = n_layers - len(layers)
    return {f"{first + i}.{k}": v.detach().to(torch.float16).clone()
            for i, layer in enumerate(layers) for k, v in layer.state_dict().items()}


def average_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Uniform weight average ("model soup") of top states saved by ``top_state``.

    Fine-tunes of the same pretrained layers under one recipe but different seeds stay in one
    basin, so their average is a single model (no extra inference cost) that does not depend on
    which seed happened to be lucky. Averaged from the fp16 saved states, so averaging the
    files of separate runs gives what ``--soup-seeds`` gives in one run (to the last fp16 step
    when the runs used different thread counts).
    """
    if not states:
        raise ValueError("average_states needs at least one state")
    keys = set(states[0])
    for st in states[1:]:
        if set(st) != keys:
            raise ValueError("cannot average encoder tops with different layers: "
                             f"{sorted(keys ^ set(st))[:4]} differ")
    return {k: (sum(st[k].float() for st in states) / len(states)).to(torch.float16) for k in states[0]}


def load_state(layers: Sequence[nn.Module], state: dict[str, torch.Tensor], n_layers: int) -> None:
    """Load a ``top_state`` dict (keys ``"<layer index>.<param>"``) into ``layers`` in place."""
    first = n_layers - len(layers)
    for i, layer in enumerate(layers):
        prefix = f"{first + i}."
        sub = {k[len(prefix):]: v.float() for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise ValueError(f"state has no weights for layer {first + i}; it was saved with another --n-top")
        layer.load_state_dict(sub)


def cached_hidden_states(encoder: Any, texts: Sequence[str], n_top: int, max_tokens: int,
                         cache: Path | None) -> list[torch.Tensor]:
    """``hidden_states`` with a per-text on-disk cache (only new texts are computed).

    The cache is keyed by the encoder's name, ``n_top`` and ``max_tokens``; a file written for
    anything else is recomputed, never reused.
    """
    def h(t: str) -> str:
        return hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()

    key = (encoder.name, n_top, max_tokens)
    store: dict[str, torch.Tensor] = {}
    if cache and cache.exists():
        blob = torch.load(cache, weights_only=False)
        if blob.get("key") == key and isinstance(blob.get("hs"), dict):
            store = blob["hs"]
    missing = sorted({t for t in texts if h(t) not in store})
    if missing:
        print(f"hidden states for {len(missing)} new texts ({len(store)} cached)")
        for t, v in zip(missing, hidden_states(encoder, missing, n_top, max_tokens=max_tokens)):
            store[h(t)] = v
        if cache:
            torch.save({"key": key, "hs": store}, cache)
    return [store[h(t)] for t in texts]


def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def main(argv: Sequence[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description="fine-tune MiniLM's top layer(s) for the gate, then the LE head")
    ap.add_argument("--encoder", default=None,
                    help="base sentence encoder: all-MiniLM-L6-v2 (default) or a local sentence-transformers folder "
                         "(BERT- or MPNet-style)")
    ap.add_argument("--n-top", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2, help="0 = no tuning (the frozen baseline)")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--lambda-cat", type=float, default=0.5)
    ap.add_argument("--max-per-part", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=64, help="tokens per training text (the gate reads prompts' openings)")
    ap.add_argument("--lookalikes", action="store_true",
                    help="train on lance.datasets.lookalikes.gate_mix: + generated look-alikes and mined alarming Alpaca")
    ap.add_argument("--no-mine", action="store_true", help="with --lookalikes: no mined Alpaca prompts")
    ap.add_argument("--exclude-families", default="",
                    help="comma-separated look-alike families held out of training and selection (generalisation check)")
    ap.add_argument("--top-output", type=Path, default=None)
    ap.add_argument("--le-output", type=Path, default=None)
    ap.add_argument("--report-xstest", action="store_true", help="also print XSTest (report only)")
    ap.add_argument("--hs-cache", type=Path, default=None, help="torch file caching hidden states between runs")
    ap.add_argument("--results-json", type=Path, default=None, help="write every printed metric here")
    ap.add_argument("--soup-seeds", default="",
                    help="comma-separated seeds: fine-tune one top per seed (each on its own mix sample) and "
                         "use their weight average; the LE head is then trained with --seed")
    ap.add_argument("--soup-from", default="",
                    help="comma-separated encoder-top files (same --n-top) to average instead of fine-tuning")
    ap.add_argument("--drop-sources", default="",
                    help="comma-separated dataset names left out of the training mix (the selection split is unchanged)")
    ap.add_argument("--request-first", action="store_true",
                    help="HarmBench contextual behaviours as request + context, in training and selection")
    ap.add_argument("--item-categories", action="store_true",
                    help="add lance.taxonomy.item_labels' per-prompt categories to the training mix")
    args = ap.parse_args(argv)
    try:
        soup_seeds = [int(x) for x in args.soup_seeds.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--soup-seeds wants comma-separated integers, got {args.soup_seeds!r}")
    if len(set(soup_seeds)) != len(soup_seeds):
        ap.error(f"--soup-seeds repeats a seed: {args.soup_seeds!r}")
    soup_from = [Path(x) for x in args.soup_from.split(",") if x.strip()]
    if soup_seeds and soup_from:
        ap.error("--soup-seeds and --soup-from are alternatives; give one")
    if (soup_seeds or soup_from) and args.epochs == 0:
        ap.error("a soup averages fine-tuned tops; it needs --epochs > 0")
    drop = {d for d in args.drop_sources.split(",") if d}
    from lance.datasets import list_datasets
    from lance.datasets.lookalikes import SOURCE as LOOKALIKE_SOURCE

    known_sources = {d.name for d in list_datasets()} | {LOOKALIKE_SOURCE}
    if drop - known_sources:
        ap.error(f"--drop-sources: unknown dataset(s) {sorted(drop - known_sources)}; known: {sorted(known_sources)}")

    import json
    import sys

    from lance.assess.checkpoint import LECheckpoint
    from lance.assess.encoder import DEFAULT_ENCODER, get_encoder
    from lance.assess.encoder_top import TOP_TAG, save_top
    from lance.assess.gate_metrics import category_scores, gate_scores, held_out_categorised
    from lance.assess.model import LEHyperParams
    from lance.assess.train import TrainConfig, fit, targets
    from lance.datasets import load_dataset, training_mix
    from lance.datasets.lookalikes import SOURCE, gate_mix, has_alarming_words, lookalike_records
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy()
    enc = get_encoder(args.encoder or DEFAULT_ENCODER)
    bert = _bert(enc)
    bias = position_bias_of(bert)
    n_layers = len(bert.encoder.layer)
    excl = [f for f in args.exclude_families.split(",") if f]

    def mix(seed: int) -> list[Any]:
        if args.lookalikes:
            recs = gate_mix(seed, exclude=excl, mine=not args.no_mine, max_per_part=args.max_per_part,
                            contextual_request_first=args.request_first, item_categories=args.item_categories)
        else:
            recs = training_mix(seed, max_per_part=args.max_per_part, contextual_request_first=args.request_first,
                                item_categories=args.item_categories)
        return [r for r in recs if r.source not in drop]

    train = mix(args.seed)
    # selection data: always the full gate mix's test split (same for every candidate)
    test = gate_mix(args.seed, splits=("test",), exclude=excl, max_per_part=args.max_per_part,
                    contextual_request_first=args.request_first)
    held = held_out_categorised()
    # generalisation: never trained on or selected with
    gen_fam = lookalike_records(families=excl) if excl else []
    mod = load_dataset("openai_moderation")
    cast = [r for r in load_dataset("ibm_cast") if r.meta.get("file") == "harmful"]
    xs = load_dataset("xstest") if args.report_xstest else []
    # a soup's other seeds train on their own mix samples: their texts ride along at the end
    soup_train = {sd: train if sd == args.seed else mix(sd) for sd in soup_seeds}
    extra = sorted({r.text for sd, recs in soup_train.items() if sd != args.seed for r in recs})
    parts = [train, test, held, gen_fam, mod, cast, xs]
    texts = [r.text for p in parts for r in p]
    cuts = np.cumsum([0] + [len(p) for p in parts])
    hs_all = cached_hidden_states(enc, texts + extra, args.n_top, args.max_tokens, args.hs_cache)
    hs, hs_by_text = hs_all[: len(texts)], dict(zip(texts + extra, hs_all))
    a = cuts[1]
    u_tr, k_tr = targets(train, tax.ids)
    import copy

    layers = [copy.deepcopy(layer) for layer in bert.encoder.layer[n_layers - args.n_top :]]
    # --epochs 0: the frozen baseline through the very same path (truncation, LE head, seed)
    if soup_seeds:
        states, runs = [], []
        for sd, recs in soup_train.items():
            cand = [copy.deepcopy(layer) for layer in layers]
            u_s, k_s = targets(recs, tax.ids)
            print(f"soup member seed {sd}: {len(recs)} records")
            runs.append({"seed": sd} | train_top(cand, [hs_by_text[r.text] for r in recs], u_s, k_s, epochs=args.epochs,
                                                 lr=args.lr, lambda_cat=args.lambda_cat, seed=sd, bias=bias))
            states.append(top_state(cand, n_layers))
        load_state(layers, average_states(states), n_layers)
        info = {"soup_seeds": soup_seeds, "members": runs}
    elif soup_from:
        from lance.assess.encoder_top import load_top

        tops = [load_top(f) for f in soup_from]
        load_state(layers, average_states([t["state"] for t in tops]), n_layers)
        info = {"soup_from": [f"{f.name}:{t['digest']}" for f, t in zip(soup_from, tops)]}
    elif args.epochs > 0:
        info = train_top(layers, hs[:a], u_tr, k_tr, epochs=args.epochs, lr=args.lr, lambda_cat=args.lambda_cat,
                         seed=args.seed, bias=bias)
    else:
        info = {"frozen": True}
    print(f"top trained: {info}")
    emb = embed_top(layers, hs, bias=bias)
    hp = LEHyperParams()
    model, hist = fit(emb[:a], u_tr, k_tr, hp, TrainConfig(seed=args.seed), progress=False)
    print(f"LE head: best epoch {hist['best_epoch']} of {hist['epochs_run']}")
    probs, _ = model.predict(torch.from_numpy(emb))
    risk = 1 - probs.numpy()[:, 0]
    seg = {name: risk[cuts[i]:cuts[i + 1]] for i, name in enumerate(("train", "test", "held", "fam", "mod", "cast", "xs"))}
    res: dict[str, Any] = {"args": vars(args) | {k: str(v) for k, v in vars(args).items() if isinstance(v, Path)},
                           "n_train": int(a)}

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
    y_mod = np.array([r.label == "unsafe" for r in mod])
    res["openai_moderation_auroc"] = _auroc(y_mod, seg["mod"])
    y_cast = np.array([r.label == "unsafe" for r in cast])
    res["ibm_cast_harmful_auroc"] = _auroc(y_cast, seg["cast"])

    res["held_categories"] = category_scores(tax.ids, probs.numpy()[cuts[2]:cuts[3]], [r.categories for r in held])
    if xs:
        g = gate_scores(np.array([r.label == "unsafe" for r in xs]).astype(int), seg["xs"],
                        [str(r.meta.get("type")) for r in xs])
        res["xstest"] = g
    for k, v in res.items():
        if k != "args":
            print(f"{k}: {json.dumps(v) if isinstance(v, dict) else v}")
    if args.results_json:
        args.results_json.parent.mkdir(parents=True, exist_ok=True)
        args.results_json.write_text(json.dumps(res, indent=1, default=str))
    name = f"{enc.name}{TOP_TAG}"
    command = "python -m lance.assess.finetune " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.top_output:
        save_top(args.top_output, top_state(layers, n_layers), name=name,
                 info={"n_top": args.n_top, "train": info, "command": command, "seed": args.seed})
        print(f"wrote {args.top_output}")
    if args.le_output:
        meta = {"n_records": int(a), "n_unsafe": int(u_tr.sum()), "n_categorised": int((k_tr[:, 1:].sum(1) > 0).sum()),
                "sources": sorted({r.source for r in train}), "train_config": TrainConfig(seed=args.seed).model_dump(),
                "history": {k: v for k, v in hist.items() if k not in ("train_loss", "val_loss")}, "command": command}
        LECheckpoint(model=model, taxonomy_fingerprint=tax.fingerprint(), taxonomy_ids=tax.ids,
                     encoder_name=name if args.epochs > 0 else enc.name, info=meta).save(args.le_output)
        print(f"wrote {args.le_output}")


if __name__ == "__main__":
    main()
