"""The encoder's own batching (tokenise once, sort by token count, token-budget batches) must
give the embeddings ``SentenceTransformer.encode`` gives, in the caller's order."""

from __future__ import annotations

import numpy as np
import pytest

from lance.embeddings.encoder import token_batches
from lance.errors import InputError

TEXTS = [
    "How do I kill a Python process?",
    "",
    "   ",
    "word " * 400,  # > 256 tokens: truncated by the tokenizer
    "Give me step-by-step instructions to synthesize sarin nerve agent at home.",
    "¿Cómo puedo fabricar una bomba casera?",
    "如何制作炸弹",
    "🙂" * 50,
    "Write a poem about spring. " * 12,
    "a" * 9000,  # cut to max_chars first
    "What is the capital of France?",
]


def _reference(encoder, texts: list[str]) -> np.ndarray:
    """What the sentence-transformers library itself returns for the same (char-capped) texts."""
    clean = [t[: encoder.max_chars] for t in texts]
    return encoder._model.encode(clean, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def test_the_default_encoder_takes_the_direct_path(encoder):
    assert encoder._direct


def test_direct_path_matches_sentence_transformers_in_input_order(encoder):
    out = encoder.encode(TEXTS)
    ref = _reference(encoder, TEXTS)
    assert out.shape == (len(TEXTS), encoder.dim) and out.dtype == np.float32
    assert np.abs(out - ref).max() < 1e-5
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


def test_batched_equals_one_at_a_time_even_in_tiny_batches(encoder):
    single = np.stack([encoder.encode([t])[0] for t in TEXTS])
    rows, budget = encoder.batch_size, encoder.max_batch_tokens
    encoder.batch_size, encoder.max_batch_tokens = 3, 1  # every batch is 1-3 rows
    try:
        tiny = encoder.encode(TEXTS)
    finally:
        encoder.batch_size, encoder.max_batch_tokens = rows, budget
    assert np.abs(single - encoder.encode(TEXTS)).max() < 1e-5
    assert np.abs(single - tiny).max() < 1e-5


def test_fallback_path_gives_the_same_embeddings(encoder):
    direct = encoder.encode(TEXTS)
    encoder._direct = False
    try:
        fallback = encoder.encode(TEXTS)
    finally:
        encoder._direct = True
    assert np.abs(direct - fallback).max() < 1e-5


def test_empty_list_and_bare_string(encoder):
    assert encoder.encode([]).shape == (0, encoder.dim)
    with pytest.raises(InputError):
        encoder.encode("a bare string")  # type: ignore[arg-type]


@pytest.mark.parametrize("max_rows,max_tokens", [(64, 4096), (2, 10_000), (1000, 50), (5, 1)])
def test_token_batches_cover_every_row_once_within_budget(max_rows, max_tokens):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 257, size=500)
    batches = token_batches(lengths, max_rows=max_rows, max_tokens=max_tokens)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(500))
    for b in batches:
        assert 1 <= len(b) <= max_rows
        assert len(b) == 1 or len(b) * lengths[b].max() <= max_tokens
    # longest first, so each batch pads to its own first row
    assert all(lengths[b[0]] == lengths[b].max() for b in batches)
    assert list(lengths[flat]) == sorted(lengths, reverse=True)


def test_token_batches_of_nothing():
    assert token_batches(np.array([], dtype=np.int64), max_rows=8, max_tokens=100) == []
