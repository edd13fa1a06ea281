"""``run.json``: what a run directory was made with, so a restart can prove it continues the same run.

The *config* of a method is everything that changes its answers (backend, sampling, seed,
pipeline, judges). Its hash goes into every result line and into the manifest; a restart
whose config hash differs for a method already in the directory is refused, because mixing
answers from two configurations in one results file would make the report meaningless.
Which datasets, methods and limits are run may change between invocations (to extend a run);
each invocation is appended to ``invocations``.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lance.errors import ConfigError, InputError
from lance.eval.store import MANIFEST


def config_hash(config: dict[str, Any]) -> str:
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise InputError(f"{path} is not valid JSON; restore it or start a new run directory") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a JSON object")
    return data


def write_manifest(run_dir: Path, data: dict[str, Any]) -> None:
    """Atomic replace: a kill during the write leaves the previous manifest intact."""
    path = Path(run_dir) / MANIFEST
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def check_and_merge(
    existing: dict[str, Any] | None,
    *,
    common: dict[str, Any],
    methods: dict[str, dict[str, Any]],
    invocation: dict[str, Any],
    run_dir: Path,
) -> dict[str, Any]:
    """The new manifest; ``ConfigError`` when a method already run here had another config."""
    data = existing or {"version": 1, "created": now(), "methods": {}, "invocations": []}
    for name, info in methods.items():
        old = data["methods"].get(name)
        if old is not None and old.get("config_hash") != info["config_hash"]:
            changed = sorted(
                k for k in set(old.get("config", {})) | set(info["config"]) if old.get("config", {}).get(k) != info["config"].get(k)
            )
            raise ConfigError(
                f"{run_dir} holds {name} results made with another configuration "
                f"(changed: {', '.join(changed) or 'unknown'}); use a new --out directory"
            )
        data["methods"][name] = info
    data["common"] = common
    data["invocations"] = [*data.get("invocations", []), invocation]
    return data
