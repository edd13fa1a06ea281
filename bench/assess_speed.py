"""Speed of ``assess``: single-prompt latency, batched throughput, LE head vs embedding time.

    .venv/bin/python bench/assess_speed.py [--n 200] [--batch 2000] [--repeat 3] [--threads N] [--precision fp32|bf16]

Targets (2 CPU cores): p50 <= 20 ms per prompt, >= 500 prompts/s batched, head <= 10% of
embedding time. The baseline, timed in the same run on the same texts, is a plain
``SentenceTransformer.encode(batch_size=64)`` of the same model: the batched line says how
``assess`` (embedding + LE head + result objects) compares with embedding alone done the
library's default way. With ``--precision bf16`` the assessor's encoder runs in bfloat16 and the
last lines say how far its distributions are from the fp32 ones on the same texts. The machine
may be shared: every line carries the 1-minute load average. The gate is the configured one
(``LANCE_*`` environment or config file), so another encoder/checkpoint pair is timed the same way.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lance.config import PRECISIONS, LanceSettings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="single-prompt calls to time")
    ap.add_argument("--batch", type=int, default=2000, help="prompts in the batched run")
    ap.add_argument("--repeat", type=int, default=1, help="batched runs (baseline and assess alternate)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32", help="the assessor encoder's arithmetic")
    args = ap.parse_args()
    import torch

    from lance.assess.assessor import LabelEnhancementAssessor, load_assessor
    from lance.embeddings.encoder import fast_bf16
    from lance.datasets import load_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = [r.text for r in load_dataset("xstest")] + [r.text for r in load_dataset("alpaca_eval")]
    texts = [t for t in texts if t.strip()]
    # the configured gate (LANCE_* environment / config file; default: the packaged one), at --precision
    settings = LanceSettings()
    settings = settings.model_copy(update={"encoder": settings.encoder.model_copy(update={"precision": args.precision})})
    a = load_assessor(settings)
    print(f"gate encoder {a.encoder.name}, precision {args.precision} (CPU with AMX bf16: {fast_bf16()})")
    st = a.encoder._model  # the SentenceTransformer behind the encoder: the baseline
    a.assess(texts[:32])  # warm-up
    st.encode(texts[:32], batch_size=64, show_progress_bar=False)

    batch = (texts * (args.batch // len(texts) + 1))[: args.batch]
    n_tok = np.array([len(ids) for ids in st.tokenizer(batch, truncation=True, max_length=a.encoder.max_seq_length)["input_ids"]])
    print(f"{len(batch)} prompts ({len(set(batch))} distinct, xstest + alpaca_eval): tokens mean {n_tok.mean():.1f}, "
          f"median {np.median(n_tok):.0f}, p99 {np.percentile(n_tok, 99):.0f}, max {n_tok.max()}; "
          f"torch threads {torch.get_num_threads()}")

    # the reading before whole-input assessment (opening only, nothing decoded), timed interleaved
    # with the whole reading on the same prompts, so a busy machine slows both alike
    opening = LabelEnhancementAssessor(a.encoder, a.checkpoint, whole=False)
    lat, lat_open = [], []
    for i in range(args.n):
        for who, out in ((a, lat), (opening, lat_open)) if i % 2 else ((opening, lat_open), (a, lat)):
            t = time.perf_counter()
            who.assess([texts[i % len(texts)]])
            out.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000
    p50 = np.percentile(lat_ms, 50)
    print(f"single prompt ({args.n} calls): p50 {p50:.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms "
          f"(target p50 <= 20 ms: {p50 / 20:.2f}x of budget); opening-only reading, interleaved: p50 "
          f"{np.percentile(np.array(lat_open) * 1000, 50):.1f} ms; {_load()}")

    for rep in range(args.repeat):
        t = time.perf_counter()
        ref = st.encode(batch, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        a.assess(batch)
        t_assess = time.perf_counter() - t
        rate = len(batch) / t_assess
        print(f"[{rep + 1}/{args.repeat}] batched: assess {rate:.0f} prompts/s, baseline encode {len(batch) / t_base:.0f}/s "
              f"-> assess is {t_base / t_assess:.2f}x the baseline's speed (target >= 500/s: {rate / 500:.2f}x); {_load()}")

    t = time.perf_counter()
    emb = a.embed(batch)
    t_emb = time.perf_counter() - t
    # what the model does with no padding and nothing to sort: 512 equal 64-token texts
    uniform = [" ".join(["word"] * 62)] * 512
    t = time.perf_counter()
    a.encoder.encode(uniform)
    ref_rate = 64 * len(uniform) / (time.perf_counter() - t)
    print(f"padding-free reference (512 equal 64-token texts): {ref_rate:.0f} tokens/s; assess embedding ran "
          f"{n_tok.sum() / t_emb:.0f} real tokens/s = {100 * n_tok.sum() / t_emb / ref_rate:.0f}% of it; at the reference "
          f"rate this mix ({n_tok.mean():.1f} tokens/prompt) would run {ref_rate / n_tok.mean():.0f} prompts/s; {_load()}")
    t = time.perf_counter()
    for _ in range(5):
        a.head(emb)
    t_head = (time.perf_counter() - t) / 5
    print(f"embedding {t_emb * 1000:.0f} ms, LE head {t_head * 1000:.1f} ms for {len(batch)} prompts: "
          f"head = {100 * t_head / t_emb:.2f}% of embedding time (target <= 10%); {_load()}")
    print(f"max |assess embedding - baseline embedding| = {np.abs(emb - ref).max():.1e}")
    if args.precision != "fp32":
        p_ref, _ = a.head(np.asarray(ref, dtype=np.float32))
        p_new, _ = a.head(emb)
        cos = (np.asarray(ref) * emb).sum(1)
        print(f"{args.precision} vs fp32 on the same {len(batch)} prompts: cosine min {cos.min():.5f}, mean {cos.mean():.6f}; "
              f"largest change of any probability {np.abs(p_new - p_ref).max():.4f}; top category the same for "
              f"{(p_new.argmax(1) == p_ref.argmax(1)).mean():.1%}, p(safe) >= 0.5 the same for "
              f"{((p_new[:, 0] >= 0.5) == (p_ref[:, 0] >= 0.5)).mean():.1%}")


if __name__ == "__main__":
    main()
