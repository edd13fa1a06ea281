"""Token windows: every stretch of up to size - stride tokens lies whole in some window."""

from __future__ import annotations

import pytest

from lance.assess.windows import char_windows, window_starts


@pytest.mark.parametrize(("n", "size", "stride"), [(1, 64, 32), (64, 64, 32), (65, 64, 32), (300, 64, 32), (1000, 128, 64), (97, 10, 3)])
def test_windows_cover_every_short_stretch(n: int, size: int, stride: int) -> None:
    starts = window_starts(n, size, stride)
    assert starts[0] == 0 and min(starts[-1] + size, n) == n  # first at the start, last at the end
    assert all(b - a <= stride for a, b in zip(starts, starts[1:]))
    span = size - stride
    for i in range(max(1, n - span + 1)):
        assert any(s <= i and i + span <= s + size for s in starts), i


def test_char_windows_follow_token_offsets() -> None:
    text = " ".join(f"w{i}" for i in range(10))
    offs, pos = [], 0
    for w in text.split(" "):
        start = text.index(w, pos)
        offs.append((start, start + len(w)))
        pos = start + len(w)
    spans = char_windows([(0, 0), *offs], 4, 2)  # a zero-width special token is ignored
    assert [text[s:e] for s, e in spans] == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9"]
    assert char_windows([], 4, 2) == []


def test_bad_window_shape_is_refused() -> None:
    with pytest.raises(ValueError):
        window_starts(10, 4, 5)
