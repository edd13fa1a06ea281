"""Read a run directory into records (inline verdicts merged with any later judge pass)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lance.errors import InputError
from lance.eval.manifest import read_manifest
from lance.eval.methods import METHODS
from lance.eval.rejudge import load_judgments
from lance.eval.store import RESULTS, read_results, record_key


@dataclass
class Run:
    run_dir: Path
    manifest: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r["dataset"] for r in self.records))

    @property
    def methods(self) -> list[str]:
        present = {r["method"] for r in self.records}
        return [m for m in METHODS if m in present] + sorted(present - set(METHODS))

    def select(self, dataset: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.records if (dataset is None or r["dataset"] == dataset) and (method is None or r["method"] == method)
        ]


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} does not exist; pass the --out of a `lance eval` run")
    records = read_results(run_dir / RESULTS)
    if not records:
        raise InputError(f"{run_dir} has no results yet ({RESULTS} missing or empty); run `lance eval --out {run_dir}`")
    later = load_judgments(run_dir)
    if later:
        for r in records:
            extra = later.get(record_key(r))
            if extra:
                r["judges"] = {**(r.get("judges") or {}), **extra}
    return Run(run_dir, read_manifest(run_dir) or {}, records)
