"""Read a run directory into records (inline verdicts merged with any later judge pass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lance.errors import InputError
from lance.eval.manifest import read_manifest
from lance.eval.methods import METHODS
from lance.eval.rejudge import load_judgments
from lance.eval.store import ERRORS, RESULTS, Key, read_results, record_key


@dataclass
class Run:
    run_dir: Path
    manifest: dict[str, Any]
    records: list[dict[str, Any]]
    #: Items whose last attempt failed (a backend error) and that have no answer yet: the latest
    #: ``errors.jsonl`` line per key. They are counted apart, never as answers; a rerun retries them.
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys([r["dataset"] for r in self.records] + [e["dataset"] for e in self.errors]))

    @property
    def methods(self) -> list[str]:
        present = {r["method"] for r in self.records} | {e["method"] for e in self.errors}
        return [m for m in METHODS if m in present] + sorted(present - set(METHODS))

    def errors_of(self, dataset: str, method: str) -> list[dict[str, Any]]:
        return [e for e in self.errors if e["dataset"] == dataset and e["method"] == method]

    def select(self, dataset: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.records if (dataset is None or r["dataset"] == dataset) and (method is None or r["method"] == method)
        ]


def _time(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(stamp))
    except ValueError:
        return None


def invocation_walls(manifest: dict[str, Any], records: list[dict[str, Any]]) -> list[tuple[float, bool]]:
    """Wall seconds of each ``lance eval`` invocation, and whether it was measured or reconstructed.

    A finished invocation records ``wall_s``. One that was killed (the runner is built to be
    killed and resumed) never writes it; its time is reconstructed as the span from its start to
    the last answer it finished (answers finished between its start and the next invocation's),
    so a long run made in several sittings still reports its real generation time. An
    invocation killed before its first answer counts 0.
    """
    invs = manifest.get("invocations") or []
    starts = [_time(i.get("started")) for i in invs]
    finished = sorted(t for r in records if (t := _time(r.get("finished_at"))) is not None)
    out: list[tuple[float, bool]] = []
    for k, inv in enumerate(invs):
        if inv.get("wall_s") is not None:
            out.append((float(inv["wall_s"]), True))
            continue
        start = starts[k]
        end = next((t for t in starts[k + 1 :] if t is not None), None)
        mine = [t for t in finished if start is not None and t >= start and (end is None or t < end)]
        out.append((max(0.0, (mine[-1] - start).total_seconds()) if mine and start else 0.0, False))
    return out


def outstanding_errors(path: Path, done: set[Key]) -> list[dict[str, Any]]:
    """The last error of every item in ``errors.jsonl`` that has no result in ``done``."""
    last: dict[Key, dict[str, Any]] = {}
    for e in read_results(path):  # same append-only JSONL format (a torn tail is ignored)
        last[record_key(e)] = e
    return [e for k, e in last.items() if k not in done]


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} does not exist; pass the --out of a `lance eval` run")
    records = read_results(run_dir / RESULTS)
    errors = outstanding_errors(run_dir / ERRORS, {record_key(r) for r in records})
    if not records and not errors:
        raise InputError(f"{run_dir} has no results yet ({RESULTS} missing or empty); run `lance eval --out {run_dir}`")
    later = load_judgments(run_dir)
    if later:
        for r in records:
            extra = later.get(record_key(r))
            if extra:
                r["judges"] = {**(r.get("judges") or {}), **extra}
    return Run(run_dir, read_manifest(run_dir) or {}, records, errors)
