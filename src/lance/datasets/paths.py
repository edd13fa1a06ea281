"""Where the public datasets live: ``$LANCE_DATA_DIR``, else the repository's ``data/``."""

from __future__ import annotations

import os
from pathlib import Path

from lance.errors import ConfigError

_HINT = "datasets are read from the repository's data/ folder; set LANCE_DATA_DIR"


def data_dir() -> Path:
    """The folder holding one sub-folder per dataset (each with its SOURCE.md).

    The data is not shipped in the wheel (some sets are non-commercial), so an
    installed package needs ``LANCE_DATA_DIR``; a source checkout finds ``data/``.
    """
    env = os.environ.get("LANCE_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise ConfigError(f"LANCE_DATA_DIR={env} is not a folder; {_HINT} to the folder holding the datasets")
        return path
    for cand in (Path(__file__).resolve().parents[3] / "data", Path.cwd() / "data"):
        if cand.is_dir():
            return cand
    raise ConfigError(f"no data folder found; {_HINT}")


def dataset_dir(name: str) -> Path:
    """The folder of one dataset, with a clear error when it is missing."""
    path = data_dir() / name
    if not path.is_dir():
        raise ConfigError(f"dataset folder {path} is missing; {_HINT}")
    return path
