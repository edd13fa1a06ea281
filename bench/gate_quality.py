"""Gate and category quality of an LE checkpoint, beside the MiniLM + logistic-regression reference.

XSTest (evaluation only, never trained on): AUROC of 1 - p_safe for unsafe vs safe prompts,
the share of safe prompts flagged at the threshold that still flags 95% of unsafe ones, and
that share per XSTest type. Held-out (test split) category-labelled prompts: top-1 / top-3
accuracy (a hit when a known category is among the top risk categories) and macro-F1 of the
top-1 risk category over the taxonomy ids present.

Generalisation (none of these sets is in the training mix): AUROC on OpenAI's moderation samples
(harm written against another taxonomy), on IBM CAST's harmful vs harmless prompts, and on IBM
CAST's condition_multiple (hate speech, crime planning and sexual-content rewrites, each against
the benign instructions they were rewritten from).

    .venv/bin/python bench/gate_quality.py [--checkpoint PATH ...] [--top ENCODER_TOP.pt] [--precision bf16]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lance.assess.gate_metrics import category_scores, gate_scores, held_out_categorised


def load_eval(encoder, cache_dir):
    from lance.embeddings.cache import embed
    from lance.datasets import load_dataset

    xs = load_dataset("xstest")
    x_xs = embed([r.text for r in xs], encoder, cache_dir)
    y_xs = np.array([1 if r.label == "unsafe" else 0 for r in xs])
    types = [str(r.meta.get("type")) for r in xs]
    held = held_out_categorised()
    x_held = embed([r.text for r in held], encoder, cache_dir)
    return x_xs, y_xs, types, x_held, [r.categories for r in held]


#: IBM CAST condition_multiple rewrites scored against their benign base instructions.
CAST_CONDITIONS = ("hate_speech", "crime_planning", "sexual_content")


def generalisation(score, encoder, cache_dir) -> dict[str, float]:
    """AUROC of ``score(embeddings)`` on openai_moderation, IBM CAST harmful/harmless, and IBM
    CAST condition_multiple: each category's rewrites against the 1,200 benign bases."""
    from lance.embeddings.cache import embed
    from lance.datasets import load_dataset

    out = {}
    cast = load_dataset("ibm_cast")
    sets = {"openai_moderation": load_dataset("openai_moderation"),
            "ibm_cast_harmful": [r for r in cast if r.meta.get("file") == "harmful"]}
    base = [r for r in cast if r.meta.get("file") == "multiple" and r.meta.get("condition") == "base"]
    for cond in CAST_CONDITIONS:
        sets[f"ibm_cast_multiple_{cond}"] = base + [r for r in cast if r.meta.get("condition") == cond]
    for name, recs in sets.items():
        x = embed([r.text for r in recs], encoder, cache_dir)
        out[name] = float(roc_auc_score([r.label == "unsafe" for r in recs], score(x)))
    return out


def reference_baseline(encoder, cache_dir, x_xs, y_xs, types):
    """MiniLM + logistic regression: the mix's harmful prompts vs Alpaca (refusal_direction benign)."""
    from lance.embeddings.cache import embed
    from lance.datasets import training_mix

    mix = training_mix(0)
    harmful = [r for r in mix if r.label == "unsafe"]
    alpaca = [r for r in mix if r.label == "safe" and r.source == "refusal_direction"]
    recs = harmful + alpaca
    x = embed([r.text for r in recs], encoder, cache_dir)
    y = np.array([1] * len(harmful) + [0] * len(alpaca))
    clf = LogisticRegression(max_iter=2000, C=1.0, class_weight="balanced").fit(x, y)
    g = gate_scores(y_xs, clf.predict_proba(x_xs)[:, 1], types)
    g["general"] = generalisation(lambda z: clf.predict_proba(z)[:, 1], encoder, cache_dir)
    return g


def evaluate(path, cache, precision: str = "fp32") -> tuple[str, dict, dict]:
    """Gate and category scores of one checkpoint, embedded with the encoder it was trained on."""
    from lance.assess.assessor import LabelEnhancementAssessor
    from lance.assess.checkpoint import load_checkpoint
    from lance.embeddings.encoder import get_encoder

    ckpt = load_checkpoint(path)
    enc = get_encoder(ckpt.encoder_name, precision=precision)
    le = LabelEnhancementAssessor(enc, ckpt)
    x_xs, y_xs, types, x_held, cats = load_eval(enc, cache)
    p_xs, _ = le.head(x_xs)
    p_held, _ = le.head(x_held)
    g = gate_scores(y_xs, 1 - p_xs[:, 0], types)
    g["general"] = generalisation(lambda z: 1 - le.head(z)[0][:, 0], enc, cache)
    return ckpt.encoder_name, g, category_scores(le.ids, p_held, list(cats))


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lance.config import PRECISIONS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", action="append", default=None,
                    help="LE checkpoint, repeatable: one column each, embedded with its own encoder (default: the packaged one)")
    ap.add_argument("--no-reference", action="store_true", help="skip the logistic-regression reference")
    ap.add_argument("--top", default=None,
                    help="encoder-top file for checkpoints trained on the +lance-top encoder (sets $LANCE_ENCODER_TOP)")
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32",
                    help="the checkpoints' encoder arithmetic (the reference stays fp32)")
    args = ap.parse_args()
    if args.top:
        from lance.embeddings.top import TOP_ENV

        os.environ[TOP_ENV] = args.top
    from lance.assess.checkpoint import default_checkpoint_path
    from lance.embeddings.encoder import get_encoder
    from lance.assets import default_cache_dir

    cache = default_cache_dir()
    paths = args.checkpoint or [default_checkpoint_path()]
    cols = [(str(p), *evaluate(p, cache, args.precision)) for p in paths]
    ref = None
    if not args.no_reference:
        enc = get_encoder()
        x_xs, y_xs, types, _, _ = load_eval(enc, cache)
        ref = reference_baseline(enc, cache, x_xs, y_xs, types)
    for i, (p, name, _, _) in enumerate(cols):
        print(f"[{i}] {p}  (encoder {name}, {args.precision})")
    print("XSTest gate (450 prompts; flagged at the threshold keeping 95% of unsafe flagged)")
    head = "".join(f"{f'LE [{i}]':>10s}" for i in range(len(cols)))
    print(f"{'':32s}{head}{'MiniLM+LR':>10s}")
    for key, label in (("auroc", "AUROC (1 - p_safe)"), ("safe_flagged", "safe prompts flagged")):
        r = f"{ref[key]:10.3f}" if ref else f"{'-':>10s}"
        print(f"{label:32s}" + "".join(f"{g[key]:10.3f}" for _, _, g, _ in cols) + r)
    print("per XSTest type (share flagged; safe types: lower is better, contrast_*: higher)")
    for t in cols[0][2]["per_type"]:
        r = f"{ref['per_type'][t]:10.3f}" if ref else f"{'-':>10s}"
        print(f"  {t:30s}" + "".join(f"{g['per_type'][t]:10.3f}" for _, _, g, _ in cols) + r)
    print("generalisation (AUROC; sets never trained on)")
    for key in cols[0][2]["general"]:
        r = f"{ref['general'][key]:10.3f}" if ref else f"{'-':>10s}"
        print(f"  {key:34s}" + "".join(f"{g['general'][key]:10.3f}" for _, _, g, _ in cols) + r)
    for i, (_, _, _, cat) in enumerate(cols):
        print(f"held-out category-labelled prompts [{i}] (test split, n={cat['n']}): "
              f"top-1 acc {cat['top1']:.3f}   top-3 acc {cat['top3']:.3f}   macro-F1 {cat['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
