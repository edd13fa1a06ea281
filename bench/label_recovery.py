"""Label-recovery benchmark on openai_moderation (8 harm labels, multi-label).

Single-positive view: every unsafe text keeps ``unsafe`` plus ONE of its positive labels,
drawn at random per seed; safe texts keep ``safe``. Every method recovers a distribution over
safe + 8 labels for all 1,680 texts (transductive, as label enhancement is scored); we score
the 8 harm masses of the unsafe texts against their full labels (a missing label counts as not
positive). Mean +- std over seeds.

LANCE recovers a training text's distribution from the posterior *given its observed labels*
(``lance.research.recovery``: conjugate update of q(d|x) with the observed label weighted as
``RECOVERY_WEIGHT`` observations, then the hedged point estimate: 95% geometric mean + 5% mean). "+ sparse" rows zero masses below a per-method threshold chosen on the selection
draw (generic post-processing, offered to every learned method).

    .venv/bin/python bench/label_recovery.py --seeds 5
    .venv/bin/python bench/label_recovery.py --select-estimate 100     # how the estimate was chosen
    .venv/bin/python bench/label_recovery.py --select-thresholds 100   # how the thresholds were chosen
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

LABELS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")

#: The LE model's settings for this benchmark (chosen on a separate draw, seed 100; beta_d
#: 0.05 -> 0.1 when the recovery switched to the conditioned geometric-mean estimate).
RECOVERY_HP = dict(hidden=128, prior_tau=8.0, prior_floor=0.1, lambda_c=3.0, lambda_x=1.0, beta_d=0.1, knn_k=10,
                   knn_alpha=0.5)
RECOVERY_EPOCHS = 60
#: How LANCE summarises the conditioned posterior (``--select-estimate 100``: the worst relative
#: margin over AP, Chebyshev, KL, cosine and intersection against the best baseline row, over
#: WEIGHT_GRID x SHARE_GRID; see docs/label_enhancement.md).
RECOVERY_WEIGHT = 10.0
RECOVERY_MEAN_SHARE = 0.05
#: Per-method sparsification thresholds: argmin of Clark + Canberra on seed 100 over 0.05..0.50
#: (``--select-thresholds 100`` reprints the choice).
SPARSE_T = {"softmax classifier": 0.25, "kNN propagation": 0.30, "LEVI-style VAE": 0.15, "LANCE LE (ours)": 0.20}
T_GRID = tuple(round(0.05 * i, 2) for i in range(1, 11))
OURS = "LANCE LE (ours)"
ABLATION = "LANCE LE, q(d|x) mean"
SEEDED = ("softmax classifier", "LEVI-style VAE")


def load_data():
    from lance.embeddings.cache import embed
    from lance.embeddings.encoder import get_encoder
    from lance.assets import default_cache_dir
    from lance.datasets import load_dataset

    recs = load_dataset("openai_moderation")
    full = np.array([[1 if r.meta["labels"].get(k) == 1 else 0 for k in LABELS] for r in recs])
    x = embed([r.text for r in recs], get_encoder(), default_cache_dir())
    return x, full


def single_positive(full: np.ndarray, seed: int) -> np.ndarray:
    """(n, 9) one-hot observed labels: safe, or one random positive harm label."""
    rng = np.random.default_rng(seed)
    obs = np.zeros((full.shape[0], full.shape[1] + 1))
    for i, row in enumerate(full):
        pos = np.flatnonzero(row)
        obs[i, 0 if len(pos) == 0 else 1 + rng.choice(pos)] = 1
    return obs


def fit_lance(x: np.ndarray, observed: np.ndarray, seed: int = 0, hp: dict | None = None,
              epochs: int = RECOVERY_EPOCHS):
    """Train LANCE's LE model on the observed labels; returns (model, unsafe, known)."""
    from lance.assess.model import LEHyperParams
    from lance.assess.train import TrainConfig, fit

    unsafe = (observed[:, 0] == 0).astype(np.float32)
    known = observed.astype(np.float32).copy()
    known[:, 0] = 0
    cfg = TrainConfig(seed=seed, epochs=epochs, val_frac=0.0, patience=epochs, batch_size=256, balance=False)
    model, _ = fit(x, unsafe, known, LEHyperParams(**(hp or RECOVERY_HP)), cfg, progress=False)
    return model, unsafe, known


def lance_le(x: np.ndarray, observed: np.ndarray, seed: int = 0, hp: dict | None = None,
             epochs: int = RECOVERY_EPOCHS) -> dict[str, np.ndarray]:
    """Train on the observed labels; return the recovered distributions (conditioned posterior,
    hedged estimate) and, as an ablation, the amortised q(d|x) mean that ignores them."""
    import torch

    from lance.research.recovery import recover

    model, unsafe, known = fit_lance(x, observed, seed, hp, epochs)
    probs, _ = model.predict(torch.from_numpy(x))
    return {OURS: recover(model, x, unsafe, known, estimate="hedged", weight=RECOVERY_WEIGHT,
                          mean_share=RECOVERY_MEAN_SHARE),
            ABLATION: probs.double().numpy()}


def harm_sparse(pred: np.ndarray, t: float) -> np.ndarray:
    """Sparsify the harm block (what is scored); the safe column is dropped."""
    from lance.research.recovery import sparsify

    out = np.zeros_like(pred, dtype=np.float64)
    out[:, 1:] = sparsify(pred[:, 1:], t)
    return out


def score(full: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from lance.research.recovery_metrics import all_metrics

    rows = full.sum(1) > 0
    harm = pred[rows, 1:]
    return all_metrics(full[rows], harm / harm.sum(1, keepdims=True).clip(min=1e-12))


def run_methods(x: np.ndarray, obs: np.ndarray, seed: int, only: set[str] | None, hp: dict | None,
                thresholds: dict[str, float]) -> dict[str, tuple[np.ndarray, float]]:
    """Every method's recovered (n, 9) distributions for one draw, with seconds taken."""
    from lance.research.recovery_baselines import BASELINES

    out: dict[str, tuple[np.ndarray, float]] = {}
    for name, fn in BASELINES.items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        out[name] = (fn(x, obs, seed=seed) if name in SEEDED else fn(x, obs), time.perf_counter() - t)
    if not only or OURS in only:
        t = time.perf_counter()
        for name, pred in lance_le(x, obs, seed=seed, hp=hp).items():
            out[name] = (pred, time.perf_counter() - t)
    for name, th in thresholds.items():
        if name in out:
            out[f"{name} + sparse (t={th:.2f})"] = (harm_sparse(out[name][0], th), out[name][1])
    return out


def select_thresholds(x: np.ndarray, full: np.ndarray, seed: int, hp: dict | None) -> None:
    """Print, per learned method, Clark + Canberra over the threshold grid on draw ``seed``."""
    obs = single_positive(full, seed)
    preds = run_methods(x, obs, seed, set(SPARSE_T), hp, {})
    for name, (pred, _) in preds.items():
        if name not in SPARSE_T:
            continue
        cost = {}
        for th in T_GRID:
            sc = score(full, harm_sparse(pred, th))
            cost[th] = sc["clark"] + sc["canberra"]
            print(f"{name} t={th:.2f}: " + " ".join(f"{k} {v:.3f}" for k, v in sc.items()))
        print(f"-> {name}: t = {min(cost, key=cost.get):.2f} (min Clark + Canberra {min(cost.values()):.3f})")


#: The grid ``--select-estimate`` searches: evidence weights x mean shares of the hedged estimate.
WEIGHT_GRID = (1.0, 2.0, 3.0, 4.0, 6.0, 10.0, 15.0, 20.0, 30.0)
SHARE_GRID = (0.0, 0.03, 0.05, 0.1, 0.2)
SOFT_METRICS = ("avg_precision", "chebyshev", "kl", "cosine", "intersection")


def select_estimate(x: np.ndarray, full: np.ndarray, seed: int, hp: dict | None) -> None:
    """Print, on draw ``seed``, every (evidence weight, mean share) with its worst relative margin
    over the soft metrics against the best baseline row (sparse rows included)."""
    import torch

    from lance.research.recovery_metrics import HIGHER_IS_BETTER
    from lance.research.recovery import condition_on_labels, point_estimate

    obs = single_positive(full, seed)
    base = {name: score(full, pred) for name, (pred, _) in run_methods(x, obs, seed, None, hp, SPARSE_T).items()
            if not name.startswith("LANCE")}

    def err(m: str, v: float) -> float:  # lower is better for every metric after this
        return 1 - v if HIGHER_IS_BETTER[m] else v

    best = {m: min(err(m, sc[m]) for sc in base.values()) for m in SOFT_METRICS}
    model, unsafe, known = fit_lance(x, obs, seed, hp)
    model.eval()
    with torch.no_grad():
        alpha = model.concentrations(torch.from_numpy(x.astype(np.float32))).double().numpy()
    print("best baseline row (error; 1 - v for AP/cosine/intersection): "
          + " ".join(f"{m} {best[m]:.4f}" for m in SOFT_METRICS))
    choice = (-np.inf, None)
    for w in WEIGHT_GRID:
        post = condition_on_labels(alpha, unsafe, known, w)
        for share in SHARE_GRID:
            sc = score(full, point_estimate(post, "hedged", mean_share=share))
            margins = {m: (best[m] - err(m, sc[m])) / best[m] for m in SOFT_METRICS}
            worst = min(margins, key=margins.get)
            print(f"w {w:4g} share {share:4.2f}: " + " ".join(f"{m} {sc[m]:.4f}" for m in SOFT_METRICS)
                  + f"  worst margin {margins[worst]:+.1%} ({worst})")
            if margins[worst] > choice[0]:
                choice = (margins[worst], (w, share))
    print(f"-> evidence weight {choice[1][0]:g}, mean share {choice[1][1]:.2f} (worst margin {choice[0]:+.1%})")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma-separated method names to run")
    ap.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                    help="override a RECOVERY_HP entry (selection runs)")
    ap.add_argument("--select-thresholds", type=int, default=None, metavar="SEED",
                    help="print the sparsification-threshold selection on this draw and exit")
    ap.add_argument("--select-estimate", type=int, default=None, metavar="SEED",
                    help="print the evidence-weight x mean-share selection on this draw and exit")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # the machine is shared; more threads only oversubscribe it
    from lance.research.recovery_metrics import DISTRIBUTION_METRICS, HIGHER_IS_BETTER, RANKING_METRICS
    from lance.assess.model import LEHyperParams

    hp = dict(RECOVERY_HP)
    for kv in args.hp:
        key, _, val = kv.partition("=")
        if key not in LEHyperParams.model_fields:
            sys.exit(f"error: unknown hyper-parameter {key!r} in --hp")
        hp[key] = type(LEHyperParams.model_fields[key].default)(val)
    x, full = load_data()
    if args.select_thresholds is not None:
        select_thresholds(x, full, args.select_thresholds, hp)
        return
    if args.select_estimate is not None:
        select_estimate(x, full, args.select_estimate, hp)
        return
    only = set(args.only.split(",")) if args.only else None
    multi = full.sum(1) >= 2
    res: dict[str, list[dict[str, float]]] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        obs = single_positive(full, seed)
        for name, (pred, secs) in run_methods(x, obs, seed, only, hp, SPARSE_T).items():
            sc = score(full, pred)
            sc["ap_multi"] = score(full[multi], pred[multi])["avg_precision"]
            sc["seconds"] = secs
            res.setdefault(name, []).append(sc)
            print(f"seed {seed} {name}: AP {sc['avg_precision']:.3f} ({secs:.0f}s)", file=sys.stderr, flush=True)
    cols = list(DISTRIBUTION_METRICS) + list(RANKING_METRICS) + ["ap_multi"]
    arrow = {c: ("↑" if HIGHER_IS_BETTER.get(c, True) else "↓") for c in cols}
    print(f"openai_moderation, single-positive view, seeds {args.first_seed}..{args.first_seed + args.seeds - 1} "
          f"({int((full.sum(1) > 0).sum())} unsafe texts scored; ap_multi = AP on the {int(multi.sum())} with >= 2 labels)")
    print("| method | " + " | ".join(f"{c} {arrow[c]}" for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, runs in res.items():
        cells = []
        for c in cols:
            v = np.array([r[c] for r in runs])
            cells.append(f"{v.mean():.3f} ± {v.std():.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    base = [m for m in res if not m.startswith("LANCE")]
    for mine in [m for m in res if m.startswith(OURS)]:
        if not base:
            break
        ours = {c: np.mean([r[c] for r in res[mine]]) for c in cols}
        wins = []
        for c in cols:
            best = [np.mean([r[c] for r in res[m]]) for m in base]
            ok = ours[c] > max(best) if HIGHER_IS_BETTER.get(c, True) else ours[c] < min(best)
            wins.append(f"{c}:{'win' if ok else 'no'}")
        n_dist = sum(1 for w in wins[:6] if w.endswith("win"))
        print(f"{mine} vs every baseline row: {' '.join(wins)}  (distribution metrics won: {n_dist}/6)")


if __name__ == "__main__":
    main()
