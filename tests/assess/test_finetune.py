"""The cached top-layer path of the gate fine-tuning: same embedding as MiniLM, incremental cache."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lance.assess.top_training import _bert, cached_hidden_states, embed_top

TEXTS = ["How do I kill a Python process?", "What is the capital of Peru?", "Describe a sunset over the sea."]


def test_cached_top_path_reproduces_the_encoder_and_extends_its_cache(encoder, tmp_path):
    layers = list(_bert(encoder).encoder.layer[-2:])
    cache = tmp_path / "hs.pt"
    hs = cached_hidden_states(encoder, TEXTS[:2], 2, 64, cache)
    assert cache.is_file() and len(hs) == 2
    hs = cached_hidden_states(encoder, TEXTS, 2, 64, cache)  # two from the file, one new
    again = cached_hidden_states(encoder, TEXTS, 2, 64, cache)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(hs, again))
    emb = embed_top(layers, hs)
    ref = encoder.encode(TEXTS)
    assert np.abs(emb - ref).max() < 1e-2  # fp16 cache of the hidden state entering the top layers
    # a cache for another depth is not reused
    other = cached_hidden_states(encoder, TEXTS[:1], 1, 64, cache)
    assert other[0].shape == hs[0].shape and not np.array_equal(other[0].numpy(), hs[0].numpy())


def test_weight_soup_averages_the_saved_tops_and_loads_into_the_shipped_encoder(encoder):
    """The soup of the pretrained top and the shipped top is their midpoint; a soup of the
    shipped top with itself, loaded into pretrained copies, is the shipped gate encoder."""
    import copy

    import pytest
    import torch

    from lance.embeddings.encoder import DEFAULT_ENCODER, get_encoder
    from lance.embeddings.top import TOP_TAG, load_top
    from lance.assess.top_training import average_states, load_state, top_state

    bert = _bert(encoder)
    n = len(bert.encoder.layer)
    shipped = load_top()["state"]
    n_top = len({k.split(".")[0] for k in shipped})
    pre = top_state(bert.encoder.layer[n - n_top:], n)
    assert set(pre) == set(shipped)

    mid = average_states([pre, shipped])
    k = next(k for k in shipped if k.endswith("attention.self.query.weight"))
    want = ((pre[k].float() + shipped[k].float()) / 2).half()
    assert torch.equal(mid[k], want) and not torch.equal(mid[k], shipped[k])

    same = average_states([shipped, shipped, shipped])
    assert all(torch.equal(same[key], shipped[key]) for key in shipped)
    layers = [copy.deepcopy(layer) for layer in bert.encoder.layer[n - n_top:]]
    load_state(layers, same, n)
    assert all(torch.equal(v, shipped[key]) for key, v in top_state(layers, n).items())
    hs = cached_hidden_states(encoder, TEXTS, n_top, 256, None)
    tuned = get_encoder(DEFAULT_ENCODER + TOP_TAG).encode(TEXTS)
    assert np.abs(embed_top(layers, hs) - tuned).max() < 1e-2
    assert np.abs(embed_top(layers, hs) - encoder.encode(TEXTS)).max() > 0.05  # the tuned top is in use

    with pytest.raises(ValueError, match="different layers"):
        average_states([shipped, {key: v for key, v in shipped.items() if not key.startswith(f"{n - 1}.")}])
    with pytest.raises(ValueError, match="another n_top"):
        load_state([copy.deepcopy(bert.encoder.layer[0])] + layers, shipped, n)
    with pytest.raises(ValueError, match="at least one"):
        average_states([])


def test_bad_gate_configs_fail_before_any_work() -> None:
    from pydantic import ValidationError

    from lance.assess.gate_training import GateTrainingConfig

    for kwargs, msg in [({"soup_seeds": [0, 1, 0]}, "repeats a seed"),
                        ({"soup_seeds": [0, 1], "soup_from": ["a.pt"]}, "alternatives"),
                        ({"soup_seeds": [0, 1], "epochs": 0}, "needs epochs > 0"),
                        ({"drop_sources": ["harmfulq"]}, "unknown dataset(s) ['harmfulq']"),
                        ({"n_top": 0}, "greater than or equal to 1")]:
        with pytest.raises(ValidationError, match=re.escape(msg)):
            GateTrainingConfig(**kwargs)


def test_bad_soup_seeds_on_the_command_line_name_the_flag() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "lance", "train-gate", "--soup-seeds", "0,one"], capture_output=True,
                       text=True, timeout=120, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 1 and "--soup-seeds wants comma-separated integers" in r.stderr


def test_the_recorded_command_reproduces_the_config() -> None:
    from lance.assess.gate_training import GateTrainingConfig

    assert GateTrainingConfig().command() == "lance train-gate"
    cfg = GateTrainingConfig(n_top=1, lr=3e-5, lookalikes=False, exclude_families=[], soup_seeds=[0, 1], epochs=3)
    assert cfg.command() == ("lance train-gate --n-top 1 --epochs 3 --lr 3e-05 --no-lookalikes --exclude-families '' "
                             "--soup-seeds 0,1")


def _tiny_mpnet(tmp_path):
    """A randomly initialised 3-layer MPNet saved as a sentence-transformers folder. MPNet layers
    need the encoder's relative position bias, which BERT-style layers (MiniLM) do not; a real
    MPNet (all-mpnet-base-v2) is too big to fetch in tests, the architecture is what matters here."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, MPNetConfig, MPNetModel

    from lance.embeddings.encoder import DEFAULT_ENCODER, _resolve_path

    tok = AutoTokenizer.from_pretrained(str(_resolve_path(DEFAULT_ENCODER)),
                                        model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    cfg = MPNetConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=130, pad_token_id=tok.pad_token_id,
                      initializer_range=0.3)  # large weights: attention (and so the bias) shows in the output
    hf = tmp_path / "hf"
    model = MPNetModel(cfg)
    with torch.no_grad():  # a trained model's position bias matters; a fresh one's (std 0.02) barely does
        model.encoder.relative_attention_bias.weight.normal_(0.0, 2.0)
    model.save_pretrained(hf)
    tok.save_pretrained(hf)
    st = SentenceTransformer(modules=[models.Transformer(str(hf), max_seq_length=128), models.Pooling(32, "mean"),
                                      models.Normalize()], device="cpu")
    st.save(str(tmp_path / "st"))
    return tmp_path / "st"


def test_mpnet_top_runs_with_its_position_bias_and_gets_its_own_cache(encoder, tmp_path):
    """`--encoder` with an MPNet-style model: the cached top path reproduces the model's own
    embedding only when the relative position bias is fed to the layers, and a hidden-state
    cache written for MiniLM is not read for it."""
    from lance.embeddings.encoder import get_encoder
    from lance.assess.top_training import position_bias_of

    mp = get_encoder(str(_tiny_mpnet(tmp_path)))
    backbone = _bert(mp)
    bias = position_bias_of(backbone)
    assert bias is not None and position_bias_of(_bert(encoder)) is None
    cache = tmp_path / "hs.pt"
    cached_hidden_states(encoder, TEXTS, 2, 64, cache)  # MiniLM's states (384 wide) in the file
    hs = cached_hidden_states(mp, TEXTS, 2, 64, cache)
    assert hs[0].shape[1] == 32
    layers = list(backbone.encoder.layer[-2:])
    ref = mp.encode(TEXTS)
    assert np.abs(embed_top(layers, hs, bias=bias) - ref).max() < 1e-2
    assert np.abs(embed_top(layers, hs) - ref).max() > 0.02  # without the bias it is another model
