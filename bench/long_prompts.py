"""How the gate treats prompts longer than its encoder reads (256 tokens), and what reading more would cost.

The assessor reads a long prompt's opening and flags it ``truncated``. That leaves a hole: a
harmful request placed after a long benign prompt is judged by the benign part. This bench
measures the hole and two ways of reading the whole prompt, on the shipped gate:

- ``opening``: what ``assess`` did before it read the whole input (the first 256 tokens; ``whole=False``);
- ``opening+ending``: also the last 252 tokens, keeping the riskier of the two windows;
- ``64-token chunks``: every 64-token window (the length the gate was fine-tuned on), riskiest;
- ``whole, no wgate``: overlapping windows (``WINDOW_TOKENS`` every ``WINDOW_STRIDE``) and decoded
  readings, the riskiest deciding, every window read by the shipped gate (window gate off);
- ``whole (assess)``: what ``assess`` does now: the same windows read by the window gate
  (``lance.assess.window_gate``); a prompt the encoder reads at once is read as before.

Rows: harmful test prompts as they are; the same prompts after a long benign prompt (a real
instruction from arena_hard / alpaca_eval / mt_bench, over 296 tokens); every long benign
prompt of those sets (the false-positive side); openai_moderation AUROC (real long texts); and
HarmBench's contextual test behaviours, whose request sits after a context. A prompt counts
as flagged at risk (1 - p_safe) >= 0.5, the pipeline's default ``safe_threshold``.

    .venv/bin/python bench/long_prompts.py [--n 100]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.metrics import roc_auc_score

WINDOWS = ("opening", "opening+ending", "64-token chunks")
COLUMNS = (*WINDOWS, "whole, no wgate", "whole (assess)")
BENIGN_SETS = ("arena_hard", "alpaca_eval", "mt_bench", "vicuna_bench", "self_instruct_user_oriented")
HARMFUL_SETS = ("harmbench", "jbb_behaviors", "strongreject")


def windows(text: str, tok, max_tokens: int) -> dict[str, list[str]]:
    """The texts each strategy assesses for ``text`` (character spans of whole tokens)."""
    offs = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
    keep = max_tokens - 4  # room for [CLS]/[SEP] and re-tokenisation at a cut
    if len(offs) <= keep:
        return {w: [text] for w in WINDOWS}
    end = offs[-1][1]
    ending = text[offs[-keep][0] : end]
    chunks = [text[offs[i][0] : offs[min(i + 64, len(offs)) - 1][1]] for i in range(0, len(offs), 64)]
    return {"opening": [text], "opening+ending": [text, ending], "64-token chunks": chunks}


def risks(assessor, opening, no_wgate, texts: list[str]) -> dict[str, np.ndarray]:
    """Per strategy, the highest risk over its windows, for every text (one batched assess each)."""
    tok, m = opening._tokenizer, opening._max_tokens
    per = [windows(t, tok, m) for t in texts]
    flat = sorted({w for p in per for ws in p.values() for w in ws})
    risk = dict(zip(flat, (d.risk for d in opening.assess(flat))))
    out = {w: np.array([max(risk[x] for x in p[w]) for p in per]) for w in WINDOWS}
    out["whole, no wgate"] = np.array([d.risk for d in no_wgate.assess(texts)])
    out["whole (assess)"] = np.array([d.risk for d in assessor.assess(texts)])
    return out


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="harmful test prompts to pad")
    args = ap.parse_args()

    from lance.assess.assessor import LabelEnhancementAssessor, WINDOW_STRIDE, WINDOW_TOKENS, default_assessor
    from lance.datasets import load_dataset

    t0 = time.perf_counter()
    a = default_assessor()
    opening = LabelEnhancementAssessor(a.encoder, a.checkpoint, whole=False)
    no_wgate = LabelEnhancementAssessor(a.encoder, a.checkpoint)
    ntok = lambda t: len(a._tokenizer(t, verbose=False)["input_ids"])
    benign = [r.text for n in BENIGN_SETS for r in load_dataset(n) if r.label == "safe"]
    long_benign = [t for t in benign if ntok(t) > a._max_tokens]
    fillers = [t for t in long_benign if ntok(t) > a._max_tokens + 40]
    harm = [r.text for n in HARMFUL_SETS for r in load_dataset(n)
            if r.split == "test" and r.label == "unsafe" and r.meta.get("functional_category") != "contextual"][: args.n]
    padded = [f"{fillers[i % len(fillers)]}\n\n{h}" for i, h in enumerate(harm)]
    contextual = [r.text for r in load_dataset("harmbench") if r.split == "test" and r.meta.get("functional_category") == "contextual"]

    print(f"share flagged (risk >= 0.5); gate: {a.checkpoint.encoder_name}, reads {a._max_tokens} tokens; "
          f"whole reading: {WINDOW_TOKENS}-token windows every {WINDOW_STRIDE}; "
          f"window gate: {'on' if a.window_gate is not None else 'off'}")
    print(f"{'':48}" + "".join(f"{w:>18}" for w in COLUMNS))
    rows = [("harmful test prompts", harm), ("same, after a long benign prompt", padded),
            ("HarmBench contextual test behaviours", contextual), ("long benign prompts (false positives)", long_benign)]
    for name, texts in rows:
        r = risks(a, opening, no_wgate, texts)
        print(f"{name + f' (n={len(texts)})':48}" + "".join(f"{np.mean(r[w] >= 0.5):>18.3f}" for w in COLUMNS))
    mod = load_dataset("openai_moderation")
    r = risks(a, opening, no_wgate, [x.text for x in mod])
    y = [x.label == "unsafe" for x in mod]
    print(f"{'openai_moderation AUROC (n=' + str(len(mod)) + ')':48}" + "".join(f"{roc_auc_score(y, r[w]):>18.4f}" for w in COLUMNS))
    print(f"({time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
