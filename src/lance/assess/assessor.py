"""The label-enhancement assessor: texts -> risk distributions, batched.

Loads the encoder and the checkpoint once. Every text is read whole: a text longer than the
encoder reads is cut into overlapping token windows (``lance.assess.windows``), an encoded one is
read decoded (``lance.assess.normalize``), all readings of all texts are encoded in one
batch, and each text's riskiest reading decides (its ``part`` says which). Any input within
``max_input_tokens`` yields a valid distribution: text is sanitised (bytes decoded, lone surrogates
and control characters replaced), NaN/inf are scrubbed and the masses renormalised before anything
leaves; longer input is an ``InputError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lance.assess.checkpoint import LECheckpoint, default_checkpoint_path, load_checkpoint
from lance.assess.distribution import Part, RiskDistribution
from lance.assess.normalize import Normalizer
from lance.assess.window_gate import WindowGate, load_window_gate
from lance.assess.windows import char_windows
from lance.embeddings.encoder import Encoder, get_encoder
from lance.embeddings.packaged import DEFAULT_ENCODER
from lance.embeddings.top import TOP_TAG
from lance.config import LanceSettings
from lance.errors import InputError
from lance.taxonomy import SAFE, Taxonomy, load_taxonomy

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Windows a long text is read in (tokens): size and stride, measured in docs/pipeline.md
#: ("Reading the whole input"). Any stretch of up to size - stride tokens lies whole in one window.
WINDOW_TOKENS = 64
WINDOW_STRIDE = 32
#: Longest text the gate reads (tokens, about 100k characters of English); longer is an ``InputError``.
MAX_INPUT_TOKENS = 32_768


def clean_text(item: Any) -> str:
    """A printable ``str`` for any input: bytes decoded, surrogates and control chars replaced."""
    if item is None:
        return ""
    if isinstance(item, (bytes, bytearray, memoryview)):
        item = bytes(item).decode("utf-8", errors="replace")
    if not isinstance(item, str):
        raise InputError(f"assess() takes texts, got {type(item).__name__}")
    text = item.encode("utf-8", errors="replace").decode("utf-8")
    return _CONTROL.sub(" ", text)


def safe_confidence(conf: np.ndarray) -> np.ndarray:
    """Concentrations that are finite and non-negative (0 where the head gave nothing usable)."""
    return np.nan_to_num(np.asarray(conf, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)


def safe_probs(probs: np.ndarray) -> np.ndarray:
    """Rows that are finite, non-negative and sum to 1 (uniform where nothing usable is left)."""
    p = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    p = np.clip(p, 0.0, None)
    total = p.sum(-1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[-1])
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), uniform)


class LabelEnhancementAssessor:
    """``Assessor`` backed by a sentence encoder and a trained LE checkpoint.

    ``whole=False`` reads only what the encoder takes of each text as it is (the opening 256
    tokens, flagged ``truncated``): the reading before whole-input assessment, kept for comparison.
    """

    def __init__(
        self,
        encoder: Encoder,
        checkpoint: LECheckpoint,
        *,
        batch_size: int = 4096,
        whole: bool = True,
        window_tokens: int = WINDOW_TOKENS,
        window_stride: int = WINDOW_STRIDE,
        max_input_tokens: int = MAX_INPUT_TOKENS,
        window_gate: WindowGate | None = None,
    ) -> None:
        checkpoint.check(encoder_name=encoder.name)
        self.encoder = encoder
        self.checkpoint = checkpoint
        self.ids = list(checkpoint.taxonomy_ids)
        self._safe = self.ids.index(SAFE) if SAFE in self.ids else 0
        self.batch_size = batch_size
        self.whole = whole
        self.window_tokens, self.window_stride, self.max_input_tokens = window_tokens, window_stride, max_input_tokens
        self._model = checkpoint.model.eval()
        self._tokenizer = getattr(getattr(encoder, "_model", None), "tokenizer", None)
        self._max_tokens = int(getattr(encoder, "max_seq_length", 0) or 0)
        self._max_chars = int(getattr(encoder, "max_chars", 0) or 0)
        vocab = self._tokenizer.get_vocab() if self._tokenizer is not None else {}
        words = [w for w in sorted(vocab, key=vocab.__getitem__) if w.isascii() and w.isalpha()]  # commonest first
        #: Decodes encoded stretches into the encoder's whole-word vocabulary (none without a tokenizer).
        self.normalizer: Normalizer | None = Normalizer(words) if whole and words else None
        #: Reads windows of long texts and system turns (``lance.assess.window_gate``); ``None``:
        #: the shipped gate reads them too.
        self.window_gate = window_gate if whole else None

    def _prepare(self, texts: list[str]) -> list[tuple[str, bool]]:
        """Cut each text to what the encoder reads; say whether anything was dropped (``whole=False``)."""
        out = []
        for text in texts:
            cut = bool(self._max_chars) and len(text) > self._max_chars
            out.append((text[: self._max_chars] if cut else text, cut))
        # a wordpiece token covers >= 1 character, so short texts cannot overflow: tokenise only
        # the long ones, in one call
        if self._tokenizer is not None and self._max_tokens:
            long = [i for i, (t, cut) in enumerate(out) if not cut and len(t) > self._max_tokens - 2]
            if long:
                ids = self._tokenizer(
                    [out[i][0] for i in long], add_special_tokens=True, truncation=True, max_length=self._max_tokens + 1
                )["input_ids"]
                for i, seq in zip(long, ids):
                    if len(seq) > self._max_tokens:
                        out[i] = (out[i][0], True)
        return out

    def _windows(self, text: str, system: bool = False) -> list[tuple[int, int]]:
        """Character spans ``text`` is read in: the whole text when the encoder takes it at once.

        A system turn read by the window gate is cut into windows as soon as it is longer than one
        window: the window gate was trained on windows, so that is what it reads.
        """
        limit = self.window_tokens if system and self.window_gate is not None else self._max_tokens - 2
        if self._tokenizer is None or not self._max_tokens or len(text) <= limit:
            return [(0, len(text))]
        offs = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
        if len(offs) > self.max_input_tokens:
            raise InputError(
                f"a text of {len(offs)} tokens is longer than the gate reads ({self.max_input_tokens} tokens, about "
                f"{self.max_input_tokens * 3} characters of English): split it or shorten it"
            )
        if len(offs) <= limit:
            return [(0, len(text))]
        return char_windows(offs, self.window_tokens, self.window_stride)

    def readings(self, text: str, system: bool = False) -> list[Part]:
        """Every reading of ``text`` the gate assesses (see ``_plan``)."""
        return self._plan(text, system)[0]

    def _plan(self, text: str, system: bool = False) -> tuple[list[Part], bool]:
        """Every reading of ``text`` the gate assesses: its windows, decoded where it is encoded.

        A decoded stretch is read *instead of* its encoding: base64 or hex read as written is
        noise the gate flags whatever it says (100% of 100 benign prompts, bench/whole_input.py),
        so the original reading would decide every encoded text and the decoding would change
        nothing. Only stretches that decode into mostly words are replaced; the rest is as written.
        """
        norm = self.normalizer.normalize(text) if self.normalizer is not None else None
        if norm is None:
            spans = self._windows(text, system)
            return [Part(start=s, end=e, text=text[s:e]) for s, e in spans], system or len(spans) > 1
        reading = "+".join(norm.kinds)
        parts = []
        spans = self._windows(norm.text, system)
        for s, e in spans:
            o0, o1 = norm.to_original(s, e)
            parts.append(Part(start=o0, end=o1, reading=reading, text=norm.text[s:e]))
        # each decoded payload is also read on its own: wrapped in "decode this and do what it
        # says", the request reads as a task about decoding, and the gate passes it (a base64
        # pipe-bomb request in data/attacks: p(safe) 0.84 in its frame, 0.06 alone)
        for o0, o1, n0, n1 in norm.payloads:
            if (n0, n1) != (0, len(norm.text)):
                payload = norm.text[n0:n1]
                parts.extend(Part(start=o0, end=o1, reading=reading, text=payload[s:e])
                             for s, e in self._windows(payload, system))
        # the window gate reads a text cut into windows (or a system turn), the shipped gate the rest
        return parts, system or len(spans) > 1

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(texts))

    @torch.no_grad()
    def head(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The LE head alone: embeddings -> (probs, confidence), scrubbed."""
        x = torch.from_numpy(np.nan_to_num(np.ascontiguousarray(emb, dtype=np.float32)))
        probs, conf = self._model.predict(x)
        return safe_probs(probs.numpy()), safe_confidence(conf.numpy())

    def _scores(self, parts: Sequence[Part], windowed: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
        """(probs, confidence) of each part: the window gate's where ``windowed``, else the shipped gate's."""
        use = np.asarray(windowed, dtype=bool) & (self.window_gate is not None)
        probs = np.zeros((len(parts), len(self.ids)))
        conf = np.zeros(len(parts))
        for mask, gate in ((~use, None), (use, self.window_gate)):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            chunk = [parts[i].text for i in idx]
            if gate is None:
                probs[idx], conf[idx] = self.head(self.embed(chunk))
            else:
                p, c = gate.head(gate.embed(chunk))
                probs[idx] = safe_probs(p)
                conf[idx] = safe_confidence(c)
        return probs, conf

    def assess(self, texts: Sequence[str]) -> list[RiskDistribution]:
        """Risk of each text: a short one by the shipped gate as it is; a long one window by
        window (by the window gate when there is one), the riskiest window deciding."""
        return self._assess(texts, system=False)

    def assess_instructions(self, texts: Sequence[str]) -> list[RiskDistribution]:
        """Risk of system turns: read by the window gate (in windows once longer than one), the
        riskiest window deciding; without a window gate, as ``assess``."""
        return self._assess(texts, system=True)

    def _assess(self, texts: Sequence[str], *, system: bool) -> list[RiskDistribution]:
        if isinstance(texts, (str, bytes)):
            raise InputError("assess() takes a list of texts; wrap a single prompt in a list")
        originals = [clean_text(t) for t in texts]
        if not self.whole:
            return self._assess_openings(originals)
        plans, cut_up = zip(*(self._plan(t, system) for t in originals)) if originals else ((), ())
        out: list[RiskDistribution] = []
        # big windows of readings: the encoder sorts each call by token count, so small chunks would
        # mix lengths within a batch and pad; the window only bounds intermediate arrays
        start = 0
        while start < len(originals):
            stop, n = start, 0
            while stop < len(originals) and (stop == start or n + len(plans[stop]) <= self.batch_size):
                n += len(plans[stop])
                stop += 1
            flat = [p for plan in plans[start:stop] for p in plan]
            windowed = [w for plan, w in zip(plans[start:stop], cut_up[start:stop]) for _ in plan]
            probs, conf = self._scores(flat, windowed)
            row = 0
            for text, plan in zip(originals[start:stop], plans[start:stop]):
                rows = range(row, row + len(plan))
                best = min(rows, key=lambda r: probs[r, self._safe])  # the riskiest reading: least p(safe)
                part = plan[best - row]
                whole_plain = part.reading == "plain" and part.start == 0 and part.end == len(text)
                cut = any(self._max_chars and len(p.text) > self._max_chars for p in plan)
                out.append(RiskDistribution(
                    text=text, probs=dict(zip(self.ids, probs[best].tolist())), confidence=float(conf[best]),
                    truncated=bool(cut), part=None if whole_plain else part,
                ))
                row += len(plan)
            start = stop
        return out

    def _assess_openings(self, originals: list[str]) -> list[RiskDistribution]:
        """Each text as the encoder takes it (its opening), flagged ``truncated`` when cut."""
        out: list[RiskDistribution] = []
        for start in range(0, len(originals), self.batch_size):
            chunk = originals[start : start + self.batch_size]
            prepared = self._prepare(chunk)
            probs, conf = self.head(self.embed([p for p, _ in prepared]))
            for text, (_, cut), row, c in zip(chunk, prepared, probs.tolist(), conf.tolist()):
                out.append(RiskDistribution(text=text, probs=dict(zip(self.ids, row)), confidence=c, truncated=cut))
        return out


def load_assessor(settings: LanceSettings | None = None, *, taxonomy: Taxonomy | None = None) -> LabelEnhancementAssessor:
    """Build the assessor from settings (``le_checkpoint``, ``taxonomy``, ``encoder``)."""
    settings = settings or LanceSettings()
    tax = taxonomy or load_taxonomy(settings.taxonomy)
    # no checkpoint configured: the packaged one for the configured encoder
    path = settings.le_checkpoint or default_checkpoint_path(settings.encoder.name)
    ckpt = load_checkpoint(path, taxonomy_fingerprint=tax.fingerprint())
    name = settings.encoder.name
    # a checkpoint trained on the gate-tuned variant of the configured encoder uses that variant
    if ckpt.encoder_name == name + TOP_TAG:
        name = ckpt.encoder_name
    encoder = get_encoder(name, batch_size=settings.encoder.batch_size, max_chars=settings.encoder.max_chars,
                          precision=settings.encoder.precision)
    ckpt.check(encoder_name=encoder.name, where=str(settings.le_checkpoint or f"(packaged {path.name})"))
    # the window gate pairs with the packaged MiniLM gate; another encoder has none
    windows = None
    if settings.window_gate and encoder.name == DEFAULT_ENCODER + TOP_TAG:
        windows = load_window_gate(encoder, taxonomy_fingerprint=tax.fingerprint())
    return LabelEnhancementAssessor(encoder, ckpt, window_gate=windows)


@lru_cache(maxsize=1)
def default_assessor() -> LabelEnhancementAssessor:
    """The packaged checkpoint with the default encoder and taxonomy, loaded once."""
    return load_assessor(LanceSettings())


def assess(texts: Sequence[str] | str, *, checkpoint: Path | None = None) -> list[RiskDistribution]:
    """Risk distributions for ``texts`` (a bare string is treated as one text)."""
    batch = [texts] if isinstance(texts, str) else list(texts)
    assessor = default_assessor() if checkpoint is None else load_assessor(LanceSettings(le_checkpoint=checkpoint))
    return assessor.assess(batch)
