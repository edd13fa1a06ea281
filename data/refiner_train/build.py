"""Build and check the refinement model's training data (data/refiner_train).

``select``: train-split prompts only (harmful sets, CoCoNot, the look-alike families, Alpaca
instructions with alarming words), minus every text that is, or is close to (MiniLM cosine
>= 0.9), a prompt some reported number uses (XSTest, openai_moderation, any test split); each
with the shipped gate's distribution and gradient, written as batches for the writers.

``check``: joins the writers' outputs to the prompts, re-assesses every rewrite with the gate,
measures its similarity to the prompt and writes ``data/refiner_train/refiner_train.jsonl``.

Usage: python data/refiner_train/build.py select | check
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data/refiner_train"
SEED_FILE = ROOT.parent / "shared/data/refiner_seed/seed.jsonl"
N_BATCHES = 5
NEAR_DUP = 0.9
#: Below this cosine to the prompt for both outputs, a row is taken to be written for another prompt.
MISMATCH = 0.25

#: (dataset, how many train-split prompts at most); flagged prompts are taken first.
HARMFUL_QUOTA = {
    "do_not_answer": 420, "harmbench": 200, "jbb_behaviors": 74, "strongreject": 216, "coconot": 220,
    "advbench": 260, "dangerousqa": 156, "harmfulqa": 320, "refusal_direction": 160, "lance_lookalikes": 110,
}
BENIGN_QUOTA = {"lance_lookalikes": 650, "coconot": 260, "refusal_direction": 330}


def _records():
    from lance.datasets import load_dataset
    from lance.datasets.lookalikes import has_alarming_words, lookalike_records

    harmful, benign = [], []
    for name in HARMFUL_QUOTA:
        if name == "lance_lookalikes":
            recs = [r for r in lookalike_records() if r.label == "unsafe"]
        else:
            recs = [r for r in load_dataset(name) if r.label == "unsafe"]
        harmful += [r for r in recs if r.split == "train" and len(r.text) <= 600]
    benign += [r for r in lookalike_records() if r.label == "safe" and r.split == "train"]
    benign += [r for r in load_dataset("coconot") if r.label == "safe" and r.split == "train"]
    benign += [r for r in load_dataset("refusal_direction")
               if r.label == "safe" and r.split == "train" and has_alarming_words(r.text) and len(r.text) <= 300]
    return harmful, benign


def _evaluation_texts() -> list[str]:
    """Every prompt a reported number is measured on: XSTest, openai_moderation, all test splits."""
    from lance.datasets import list_datasets, load_dataset
    from lance.datasets.lookalikes import lookalike_records

    texts = [r.text for r in load_dataset("xstest")] + [r.text for r in load_dataset("openai_moderation")]
    for info in list_datasets():
        texts += [r.text for r in load_dataset(info.name) if r.split == "test"]
    texts += [r.text for r in lookalike_records() if r.split == "test"]
    return texts


def select() -> None:
    from lance.assess.assessor import load_assessor
    from lance.embeddings.encoder import get_encoder
    from lance.datasets._io import text_key
    from lance.gradients.compute import compute_gradient
    from lance.gradients.render import render_compact
    from lance.config.pipeline import PipelineConfig
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy(None)
    assessor = load_assessor(taxonomy=tax)
    enc = get_encoder()
    cfg = PipelineConfig()
    harmful, benign = _records()
    seed_keys = {text_key(json.loads(line)["prompt"]) for line in SEED_FILE.open()}
    eval_texts = _evaluation_texts()
    banned = {text_key(t) for t in eval_texts}
    eval_emb = enc.encode(eval_texts)

    def clean(recs):
        seen, out = set(seed_keys | banned), []
        for r in recs:
            k = text_key(r.text)
            if k not in seen:
                seen.add(k)
                out.append(r)
        emb = enc.encode([r.text for r in out])
        near = np.zeros(len(out))
        for i in range(0, len(out), 512):
            near[i : i + 512] = (emb[i : i + 512] @ eval_emb.T).max(1)
        return [r for r, s in zip(out, near) if s < NEAR_DUP], int((near >= NEAR_DUP).sum())

    harmful, h_near = clean(harmful)
    benign, b_near = clean([r for r in benign if text_key(r.text) not in {text_key(h.text) for h in harmful}])
    print(f"candidates: {len(harmful)} harmful, {len(benign)} benign (near-duplicates of evaluation prompts dropped: {h_near + b_near})")
    dists = assessor.assess([r.text for r in harmful + benign])
    p_safe = {r.id: d.p_safe for r, d in zip(harmful + benign, dists)}
    dist_of = {r.id: d for r, d in zip(harmful + benign, dists)}
    rng = random.Random(15)

    def take(recs, quota, flagged_bar):
        chosen = []
        for name, n in quota.items():
            pool = [r for r in recs if r.source == name]
            rng.shuffle(pool)
            pool.sort(key=lambda r: p_safe[r.id] >= flagged_bar)  # flagged first, stable within
            chosen += pool[:n]
        return chosen

    picked = [("harmful", r) for r in take(harmful, HARMFUL_QUOTA, 0.5)]
    picked += [("lookalike", r) for r in take(benign, BENIGN_QUOTA, 0.5)]
    rng.shuffle(picked)
    rows = []
    for i, (kind, r) in enumerate(picked):
        d = dist_of[r.id]
        g = compute_gradient(r.text, d, assessor, tax, threshold=cfg.gradient_threshold, max_directions=cfg.max_directions,
                             max_spans=cfg.max_spans, max_span_words=cfg.max_span_words)
        rows.append({
            "id": f"rt{i:05d}", "kind": kind, "source": r.source, "record_id": r.id, "dataset_categories": list(r.categories),
            "prompt": r.text, "p_safe": round(d.p_safe, 4), "top": [c for c, _ in d.top_risks(2)],
            "gradient": json.loads(g.model_dump_json()), "problem": render_compact(g),
        })
        if (i + 1) % 200 == 0:
            print(f"  gradients {i + 1}/{len(picked)}", flush=True)
    work = OUT / "work"
    work.mkdir(parents=True, exist_ok=True)
    with (OUT / "prompts.jsonl").open("w") as f:
        f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in rows)
    size = -(-len(rows) // N_BATCHES)
    for b in range(N_BATCHES):
        part = rows[b * size : (b + 1) * size]
        with (work / f"batch_{b}.jsonl").open("w") as f:
            f.writelines(json.dumps({k: x[k] for k in ("id", "kind", "source", "prompt", "p_safe", "problem")},
                                    ensure_ascii=False) + "\n" for x in part)
    print(Counter((k, r.source) for k, r in picked))
    print(f"{len(rows)} prompts; flagged (p_safe < 0.5): {sum(x['p_safe'] < 0.5 for x in rows)}")


def check() -> None:
    from lance.assess.assessor import load_assessor
    from lance.embeddings.encoder import get_encoder
    from lance.assess.routing import decide_route
    from lance.config.pipeline import PipelineConfig
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy(None)
    assessor = load_assessor(taxonomy=tax)
    enc = get_encoder()
    cfg = PipelineConfig()
    prompts = {json.loads(line)["id"]: json.loads(line) for line in (OUT / "prompts.jsonl").open()}
    outputs: dict[str, dict] = {}
    # out_0.jsonl is not used: its writer's scripts in a shared /tmp were overwritten by another
    # writer's, so most of its outputs belong to other prompts; batch 0 was rewritten as 0a + 0b.
    for path in sorted(p for p in (OUT / "work").glob("out_*.jsonl") if p.name != "out_0.jsonl"):
        for line in path.open():
            if line.strip():
                o = json.loads(line)
                if o.get("id") in prompts and o.get("rewrite") and o.get("refusal"):
                    outputs[o["id"]] = o
    # the seed rows (written earlier for the project) join with their own gradient text
    rows = []
    for pid, p in prompts.items():
        if pid in outputs:
            rows.append(p | {"rewrite": outputs[pid]["rewrite"].strip(), "refusal": outputs[pid]["refusal"].strip(), "origin": "written"})
    for i, line in enumerate(SEED_FILE.open()):
        s = json.loads(line)
        rows.append({"id": f"seed{i:04d}", "kind": s["kind"], "source": s["source"], "record_id": None, "dataset_categories": [],
                     "prompt": s["prompt"], "p_safe": s["p_safe"], "top": [], "gradient": None, "problem": s["problem"],
                     "rewrite": s["rewrite"], "refusal": s["refusal"], "origin": "refiner_seed"})
    rw = assessor.assess([r["rewrite"] for r in rows])
    pe = enc.encode([r["prompt"] for r in rows])
    we = enc.encode([r["rewrite"] for r in rows])
    fe = enc.encode([r["refusal"] for r in rows])
    for r, d, a, b, c in zip(rows, rw, pe, we, fe):
        r["rewrite_p_safe"] = round(d.p_safe, 4)
        r["rewrite_route"] = decide_route(d, tax, cfg).route
        r["rewrite_similarity"] = round(float(a @ b), 4)
        r["refusal_similarity"] = round(float(a @ c), 4)
    # an output pair that matches neither its prompt's topic is a writing slip (a row written for
    # another prompt); it is listed and left out
    slips = [r for r in rows if r["rewrite_similarity"] < MISMATCH and r["refusal_similarity"] < MISMATCH]
    rows = [r for r in rows if r not in slips]
    if slips:
        print(f"left out {len(slips)} rows whose rewrite and refusal both sit far from the prompt "
              f"(cosine < {MISMATCH}): {', '.join(r['id'] for r in slips[:20])}")
    with (OUT / "refiner_train.jsonl").open("w") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    passed = sum(r["rewrite_route"] == "pass" for r in rows)
    sim = sum(r["rewrite_similarity"] >= cfg.similarity_floor for r in rows)
    print(f"{len(rows)} rows ({len(outputs)} written of {len(prompts)} prompts, + seed); rewrite passes the gate: "
          f"{passed} ({passed / len(rows):.1%}); similarity >= {cfg.similarity_floor}: {sim} ({sim / len(rows):.1%})")
    for kind in ("harmful", "lookalike"):
        sub = [r for r in rows if r["kind"] == kind]
        if sub:
            print(f"  {kind}: {len(sub)} rows, pass {np.mean([r['rewrite_route'] == 'pass' for r in sub]):.1%}, "
                  f"similarity median {np.median([r['rewrite_similarity'] for r in sub]):.2f}")


if __name__ == "__main__":
    {"select": select, "check": check}[sys.argv[1]]()
