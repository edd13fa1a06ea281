"""The cached top-layer path of the gate fine-tuning: same embedding as MiniLM, incremental cache."""

from __future__ import annotations

import numpy as np

from lance.assess.finetune import _bert, cached_hidden_states, embed_top

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
