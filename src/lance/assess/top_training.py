"""Fine-tuning an encoder's top transformer layer(s) on cached hidden states.

The hidden states entering the tuned layer(s) are computed once (token level, with masks),
then only the top runs per step, which makes tuning cheap on a CPU. Used by
``lance.assess.gate_training`` (the shipped gate's recipe).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

MAX_TOKENS = 256

log = logging.getLogger(__name__)


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


def padded_batches(ids: Sequence[Sequence[int]], batch: int) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """``(indices, input ids, attention mask)`` per batch, texts of similar length together
    (sorted by token count, so a batch pads little)."""
    order = np.argsort([len(i) for i in ids])
    for s in range(0, len(order), batch):
        idx = order[s : s + batch]
        width = max(len(ids[i]) for i in idx)
        x = torch.zeros(len(idx), width, dtype=torch.long)
        m = torch.zeros(len(idx), width, dtype=torch.long)
        for j, i in enumerate(idx):
            x[j, : len(ids[i])] = torch.tensor(ids[i])
            m[j, : len(ids[i])] = 1
        yield idx, x, m


@torch.no_grad()
def hidden_states(encoder: Any, texts: Sequence[str], n_top: int, batch: int = 64, max_tokens: int = MAX_TOKENS,
                  ) -> list[torch.Tensor]:
    """Per text, the (tokens, hidden) fp16 hidden state entering the top ``n_top`` layers."""
    bert = _bert(encoder)
    tok = encoder._model.tokenizer
    n_layers = len(bert.encoder.layer)
    enc = tok(list(texts), truncation=True, max_length=max_tokens)
    ids = enc["input_ids"]
    out: list[torch.Tensor | None] = [None] * len(ids)
    t0 = time.perf_counter()
    for s, (idx, x, m) in enumerate(padded_batches(ids, batch)):
        hs = bert(input_ids=x, attention_mask=m, output_hidden_states=True).hidden_states[n_layers - n_top]
        for j, i in enumerate(idx):
            out[i] = hs[j, : len(ids[i])].to(torch.float16).clone()
        if s % 40 == 0:
            log.info("hidden states %d/%d (%.0fs)", s * batch + len(idx), len(ids), time.perf_counter() - t0)
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
              seed: int = 0, bias: PositionBias = None) -> dict[str, Any]:
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
            if k % 100 == 0:
                log.info("epoch %d step %d/%d loss %.4f (%.0fs)", ep, k, len(chunks), tot / (k + 1), time.perf_counter() - t0)
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
            raise ValueError(f"state has no weights for layer {first + i}; it was saved with another n_top")
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
        log.info("hidden states for %d new texts (%d cached)", len(missing), len(store))
        for t, v in zip(missing, hidden_states(encoder, missing, n_top, max_tokens=max_tokens)):
            store[h(t)] = v
        if cache:
            torch.save({"key": key, "hs": store}, cache)
    return [store[h(t)] for t in texts]
