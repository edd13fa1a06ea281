"""Do transformers + LoRA and llama.cpp + the GGUF adapter compute the same model?

The check reads the LoRA tensors back *from the exported GGUF* into a peft model on the
transformers base (so it tests the file llama.cpp loads, not the weights before export) and
compares next-token distributions of both runtimes on a few prompts. The base weights are the
same (transformers dequantises the packaged Q4_K_M GGUF); llama.cpp computes with quantised
activations, so small differences are expected, large ones mean a broken export (e.g. a
permuted projection).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: GGUF tensor names of the LoRA'd projections -> transformers module names.
_GGUF_TO_HF = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
               "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
               "ffn_down": "mlp.down_proj"}
_NAME = re.compile(r"^blk\.(\d+)\.(\w+)\.weight\.lora_([ab])$")


def peft_from_gguf(model: Any, adapter: Path) -> Any:
    """A peft model over ``model`` with the LoRA weights read from the GGUF ``adapter``."""
    import peft
    import torch
    from gguf import GGUFReader

    reader = GGUFReader(str(adapter))
    alpha = float(reader.fields["adapter.lora.alpha"].contents())
    weights: dict[str, np.ndarray] = {}
    targets: set[str] = set()
    rank = 0
    for t in reader.tensors:
        m = _NAME.match(t.name)
        if m is None:
            continue
        layer, kind, ab = int(m.group(1)), m.group(2), m.group(3)
        module = _GGUF_TO_HF[kind]
        targets.add(module.split(".")[-1])
        data = np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)])
        key = f"base_model.model.model.layers.{layer}.{module}.lora_{ab.upper()}.default.weight"
        weights[key] = data
        if ab == "a":
            rank = data.shape[0]
    pm = peft.get_peft_model(model, peft.LoraConfig(r=rank, lora_alpha=alpha, target_modules=sorted(targets),
                                                     lora_dropout=0.0, bias="none", task_type="CAUSAL_LM"))
    state = pm.state_dict()
    for key, value in weights.items():
        if state[key].shape != value.shape:
            raise ValueError(f"{key}: GGUF shape {value.shape} vs model {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(value)
    pm.load_state_dict(state)
    return pm.eval()


def runtime_agreement(adapter: Path, prompts: Sequence[str]) -> dict[str, Any]:
    """Max |p_transformers - p_llama.cpp| over the next-token distributions of ``prompts``, and top-1 agreement."""
    import torch
    from llama_cpp import Llama

    from lance.assets import default_gguf_path
    from lance.refine.training import load_base

    model, tok = load_base()
    pm = peft_from_gguf(model, adapter)
    llm = Llama(model_path=str(default_gguf_path()), lora_path=str(adapter), n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    diffs, top1 = [], 0
    for prompt in prompts:
        ids = tok(prompt, add_special_tokens=True).input_ids
        with torch.no_grad():
            p_hf = torch.softmax(pm(input_ids=torch.tensor([ids])).logits[0, -1].float(), -1).numpy()
        llm.reset()
        llm.eval(ids)
        z = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        p_cpp = np.exp(z - z.max())
        p_cpp /= p_cpp.sum()
        diffs.append(float(np.abs(p_hf - p_cpp[: len(p_hf)]).max()))
        top1 += int(int(p_hf.argmax()) == int(p_cpp.argmax()))
    return {"prompts": len(prompts), "max_prob_diff": round(max(diffs), 4), "mean_max_prob_diff": round(float(np.mean(diffs)), 4),
            "top1_agree": top1}
