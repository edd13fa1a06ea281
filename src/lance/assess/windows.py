"""Overlapping token windows: how a text longer than the encoder reads is read whole.

The gate's encoder reads 256 tokens; a harmful request placed after a long benign prompt would be
judged by the benign part. A long text is cut into windows of ``size`` tokens every ``stride``
tokens (the last one ends at the text's end), so every stretch of up to ``size - stride`` tokens
lies whole inside some window; the assessor encodes all windows in one batch and the riskiest
decides.
"""

from __future__ import annotations

from collections.abc import Sequence


def window_starts(n_tokens: int, size: int, stride: int) -> list[int]:
    """First token of each window over ``n_tokens`` tokens; the last window ends at the last token."""
    if size < 1 or not 0 < stride <= size:
        raise ValueError(f"need 0 < stride <= size, got size {size}, stride {stride}")
    if n_tokens <= size:
        return [0]
    starts = list(range(0, n_tokens - size + 1, stride))
    if starts[-1] + size < n_tokens:
        starts.append(n_tokens - size)
    return starts


def char_windows(offsets: Sequence[tuple[int, int]], size: int, stride: int) -> list[tuple[int, int]]:
    """Character spans of the token windows, from a tokenizer's ``offset_mapping`` (no special tokens)."""
    offs = [o for o in offsets if o[1] > o[0]]
    if not offs:
        return []
    return [(offs[i][0], offs[min(i + size, len(offs)) - 1][1]) for i in window_starts(len(offs), size, stride)]
