"""Features of a response for the refusal detector.

One MiniLM embedding of the response's opening (refusals announce themselves
early; the encoder reads 256 word pieces anyway), the cosine to the prompt's
embedding, the closest canonical refusal template, and counts of lexical cues.
Kept separate from the classifier so the benchmark can cache embeddings.

A third, sparse block holds the word 1-3-grams of the response's opening
(how a model starts an answer is the strongest refusal signal, and the phrasings
vary by model family beyond what a fixed cue list covers). N-grams are hashed
(CRC-32) so the shipped weights keep bucket ids, not text; which buckets are
used is learnt from the training responses (``select_ngrams``).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from lance.judges.templates import ALTERNATIVE_RE, COMPLIANCE_RE, REFUSAL_RE, count_cues

#: Characters of the response that are embedded (about 256 word pieces).
HEAD_CHARS = 1200
#: Characters of the opening that the "early cue" features look at.
OPENING_CHARS = 160

LEXICAL_NAMES: tuple[str, ...] = (
    "refusal_cues_opening",
    "refusal_cues_all",
    "alternative_cues",
    "compliance_cues_opening",
    "compliance_cues_all",
    "log_length",
    "template_similarity",
    "prompt_similarity",
    "has_prompt",
)


#: Words of the opening whose n-grams form the sparse block (default; a model stores its own).
OPENER_TOKENS = 40
#: Longest n-gram, and the hash space the n-grams are folded into.
NGRAM_MAX = 3
NGRAM_BUCKETS = 1 << 22

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def opener_ngrams(text: str, opener_tokens: int = OPENER_TOKENS) -> set[int]:
    """Hashed word 1-3-grams of the first ``opener_tokens`` words (lower-cased)."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))[:opener_tokens]
    out = set()
    for n in range(1, NGRAM_MAX + 1):
        for i in range(len(words) - n + 1):
            out.add(zlib.crc32(" ".join(words[i : i + n]).encode()) % NGRAM_BUCKETS)
    return out


def select_ngrams(grams: Iterable[set[int]], min_count: int, max_size: int = 4000) -> np.ndarray:
    """Buckets present in at least ``min_count`` training responses (most frequent first, capped)."""
    counts = Counter(g for s in grams for g in s)
    keep = [g for g, k in counts.most_common(max_size) if k >= min_count]
    return np.array(sorted(keep), dtype=np.int64)


def ngram_matrix(grams: Sequence[set[int]], buckets: np.ndarray) -> np.ndarray:
    """Binary presence of each of ``buckets`` (sorted) in each response's n-gram set."""
    out = np.zeros((len(grams), len(buckets)), np.float32)
    if not len(buckets):
        return out
    index = {int(b): j for j, b in enumerate(buckets)}
    for r, s in enumerate(grams):
        cols = [index[g] for g in s if g in index]
        out[r, cols] = 1.0
    return out


def head(text: str) -> str:
    """The part of a response that is embedded."""
    return text.strip()[:HEAD_CHARS]


def lexical_features(
    responses: Sequence[str],
    template_sim: np.ndarray,
    prompt_sim: np.ndarray,
    has_prompt: np.ndarray,
) -> np.ndarray:
    """Cue counts and similarities, one row per response (columns: ``LEXICAL_NAMES``)."""
    rows = []
    for i, text in enumerate(responses):
        t = text.strip()
        opening = t[:OPENING_CHARS]
        rows.append(
            [
                count_cues(REFUSAL_RE, opening) / 3.0,
                count_cues(REFUSAL_RE, t) / 5.0,
                count_cues(ALTERNATIVE_RE, t) / 3.0,
                count_cues(COMPLIANCE_RE, opening) / 2.0,
                count_cues(COMPLIANCE_RE, t) / 3.0,
                math.log1p(len(t)) / 8.0,
                float(template_sim[i]),
                float(prompt_sim[i]),
                float(has_prompt[i]),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(responses), len(LEXICAL_NAMES))


def build_features(
    responses: Sequence[str],
    response_emb: np.ndarray,
    prompt_emb: np.ndarray | None,
    template_emb: np.ndarray,
) -> np.ndarray:
    """Full feature matrix: the response embedding followed by the lexical block.

    ``prompt_emb`` rows that are all zero mean "no prompt given".
    """
    n = len(responses)
    template_sim = (response_emb @ template_emb.T).max(axis=1) if n else np.zeros(0, np.float32)
    if prompt_emb is None:
        prompt_emb = np.zeros_like(response_emb)
    has_prompt = (np.abs(prompt_emb).sum(axis=1) > 0).astype(np.float32)
    prompt_sim = (response_emb * prompt_emb).sum(axis=1) * has_prompt
    lex = lexical_features(responses, template_sim, prompt_sim, has_prompt)
    return np.hstack([response_emb.astype(np.float32), lex])
