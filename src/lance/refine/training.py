"""LANCE's own refinement model: a LoRA adapter on the embedded Gemma 3 270M, trained on CPU.

transformers loads the packaged GGUF (dequantised), peft adds LoRA to the projections that need
no re-permutation on export (v/o and the MLP; q/k are permuted by llama.cpp's converter), and
the loss is on the answer tokens only: the hidden states of the answer positions alone go
through the 262k-word output layer, which is most of the cost otherwise. One adapter, two
tasks (``rewrite`` and ``refuse``, told apart by the instruction line, ``refine.prompts``).
``export`` turns the adapter into a GGUF LoRA that llama.cpp loads on the same base file.

Training extra: ``pip install -e '.[train]'`` (peft). ``lance train-refiner`` is the command line.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lance.errors import InputError, ModelFileError
from lance.refine.prompts import adapter_refusal_prompt, adapter_rewrite_prompt

log = logging.getLogger(__name__)

Task = Literal["rewrite", "refuse"]
#: Projections LoRA is put on (the ones llama.cpp's converter exports without re-permuting).
DEFAULT_TARGETS = ("v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: Prompts the exported adapter is checked on in both runtimes.
AGREEMENT_PROMPTS = 6


class RefinerTrainingConfig(BaseModel):
    """One training run of the refinement adapter. Defaults: the shipped recipe."""

    model_config = ConfigDict(extra="forbid")

    #: ``data/refiner_train/refiner_train.jsonl`` (None: the repository's copy).
    data: Path | None = None
    #: Where the GGUF adapter is written (atomically).
    output: Path = Path("refiner-lora.gguf")
    rank: int = Field(default=16, ge=1, le=256)
    alpha: int = Field(default=32, ge=1)
    targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    epochs: float = Field(default=1.0, gt=0)
    lr: float = Field(default=2e-4, gt=0)
    #: Padded tokens per optimiser step (examples are length-sorted into batches of about this size).
    batch_tokens: int = Field(default=1536, ge=64)
    #: At most this many rows of the data (None: all), sampled by ``seed``.
    max_rows: int | None = Field(default=None, ge=1)
    #: Stop after this many optimiser steps (None: the epochs); for smoke tests.
    max_steps: int | None = Field(default=None, ge=1)
    tasks: list[Task] = Field(default_factory=lambda: ["rewrite", "refuse"])
    seed: int = 0
    threads: int | None = Field(default=None, ge=1)


def training_examples(rows: list[dict[str, Any]], tasks: list[Task]) -> list[tuple[str, str]]:
    """``(prompt, answer)`` pairs: per row a rewrite example and a refusal example.

    A refusal for a ``refuse``-action category is learnt from the masked summary of the
    request (the pipeline never shows such a request to any model); others from the request.
    """
    from lance.gradients.gradient import TextualGradient
    from lance.refine.styles import MASKED_WORDS, refusal_request
    from lance.taxonomy import load_taxonomy

    tax = load_taxonomy()
    out: list[tuple[str, str]] = []
    for r in rows:
        if "rewrite" in tasks:
            out.append((adapter_rewrite_prompt(r["prompt"], r["problem"]), " " + r["rewrite"].strip()))
        if "refuse" in tasks:
            g = TextualGradient.model_validate(r["gradient"]) if r.get("gradient") else None
            cid = g.categories[0].id if g is not None and g.categories else None
            cat = tax[cid] if cid in tax.ids else None
            request = refusal_request(r["prompt"], g, cat, max_words=MASKED_WORDS) if cat else r["prompt"]
            out.append((adapter_refusal_prompt(request, cat.name.lower() if cat else "harmful content"),
                        " " + r["refusal"].strip()))
    return out


def load_rows(path: Path | None, max_rows: int | None, seed: int) -> list[dict[str, Any]]:
    from lance.datasets.paths import data_dir

    path = path or data_dir() / "refiner_train" / "refiner_train.jsonl"
    if not path.is_file():
        raise InputError(f"refiner training data not found: {path} (data/refiner_train/ in the repository)")
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    for i, r in enumerate(rows):
        if not all(isinstance(r.get(k), str) and r[k].strip() for k in ("prompt", "problem", "rewrite", "refusal")):
            raise InputError(f"{path}:{i + 1}: a row needs non-empty prompt, problem, rewrite and refusal")
    if max_rows is not None and max_rows < len(rows):
        rows = random.Random(seed).sample(rows, max_rows)
    return rows


def load_base() -> tuple[Any, Any]:
    """The embedded GGUF as a transformers model (fp32, dequantised) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from lance.assets import default_gguf_path

    hf_logging.disable_progress_bar()
    path = default_gguf_path()
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    model.config.architectures = ["Gemma3ForCausalLM"]  # the GGUF does not say; the converter needs it
    return model, tok


def _encode(tok: Any, pairs: list[tuple[str, str]]) -> list[tuple[list[int], int]]:
    """Token ids of prompt + answer + <eos>, and where the answer starts."""
    out = []
    for prompt, answer in pairs:
        p = tok(prompt, add_special_tokens=True).input_ids
        a = tok(answer, add_special_tokens=False).input_ids + [tok.eos_token_id]
        out.append((p + a, len(p)))
    return out


def _batches(encoded: list[tuple[list[int], int]], budget: int, rng: random.Random) -> list[list[int]]:
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    batches, cur = [], []
    for i in order:
        width = max([len(encoded[j][0]) for j in cur + [i]])
        if cur and width * (len(cur) + 1) > budget:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def answer_loss(model: Any, encoded: list[tuple[list[int], int]], idx: list[int], pad_id: int) -> Any:
    """Mean cross-entropy over the answer tokens; only their hidden states meet the output layer."""
    import torch

    width = max(len(encoded[i][0]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for r, i in enumerate(idx):
        seq, start = encoded[i]
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
        for t in range(start, len(seq)):  # position t-1 predicts token t
            rows.append(r)
            cols.append(t - 1)
            targets.append(seq[t])
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state
    logits = causal.lm_head(hidden[torch.tensor(rows), torch.tensor(cols)])
    return torch.nn.functional.cross_entropy(logits.float(), torch.tensor(targets))


def train_refiner(cfg: RefinerTrainingConfig) -> dict[str, Any]:
    """Train the adapter, export it to ``cfg.output`` as a GGUF LoRA, and return what happened."""
    try:
        import peft
    except ImportError:
        raise ModelFileError("training the refiner needs peft: pip install -e '.[train]'") from None
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    rows = load_rows(cfg.data, cfg.max_rows, cfg.seed)
    pairs = training_examples(rows, cfg.tasks)
    t0 = time.perf_counter()
    model, tok = load_base()
    log.info("base model loaded in %.0fs", time.perf_counter() - t0)
    lora = peft.LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, target_modules=list(cfg.targets), lora_dropout=0.0,
                           bias="none", task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, lora)
    encoded = _encode(tok, pairs)
    batches = _batches(encoded, cfg.batch_tokens, rng)
    total = max(1, math.ceil(cfg.epochs * len(batches)))
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / total))
    model.train()
    losses, tokens, step, t1 = [], 0, 0, time.perf_counter()
    while step < total:
        for idx in batches:
            if step >= total:
                break
            loss = answer_loss(model, encoded, idx, tok.pad_token_id)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            tokens += sum(len(encoded[i][0]) for i in idx)
            step += 1
            if step % 20 == 0 or step == total:
                el = time.perf_counter() - t1
                log.info("step %d/%d loss %.3f (last 20) %.0f tokens/s, %.0fs", step, total,
                         sum(losses[-20:]) / len(losses[-20:]), tokens / el, el)
    model.eval()
    seconds = time.perf_counter() - t1
    from lance.refine.adapter_export import export_adapter
    from lance.refine.own_model import file_digest

    info = {"rows": len(rows), "examples": len(pairs), "steps": step, "epochs": cfg.epochs, "tokens": tokens,
            "train_seconds": round(seconds, 1), "tokens_per_s": round(tokens / max(seconds, 1e-9), 1),
            "first_loss": round(sum(losses[:20]) / len(losses[:20]), 4), "last_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
            "config": cfg.model_dump(mode="json")}
    export_adapter(model, cfg.output)
    from lance.refine.adapter_check import runtime_agreement

    # the exported file, read back into transformers, against llama.cpp on the same prompts;
    # the record of the run is written beside the adapter
    info["runtime_agreement"] = runtime_agreement(cfg.output, [p for p, _ in pairs[:AGREEMENT_PROMPTS]])
    info["sha256"] = file_digest(cfg.output)
    cfg.output.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
    log.info("transformers vs llama.cpp: %s", info["runtime_agreement"])
    return info
