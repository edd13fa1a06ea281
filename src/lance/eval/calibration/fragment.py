"""The calibrated thresholds as a YAML fragment that ``lance --config`` reads.

The fragment carries the ``pipeline`` thresholds and whatever else decided the routes it was
calibrated with: the ``pipeline.actions`` overrides and the gate (taxonomy, checkpoint, encoder)
when they are not the packaged defaults, since thresholds mean nothing for another gate.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from lance.config import LanceSettings, load_settings
from lance.eval.calibration.search import Calibration

_GATE_KEYS = {"taxonomy", "le_checkpoint", "encoder"}


def fragment(cal: Calibration, settings: LanceSettings) -> dict[str, Any]:
    """The settings mapping to write: gate keys that differ from the defaults, then ``pipeline``."""
    out: dict[str, Any] = settings.model_dump(mode="json", exclude_defaults=True, include=_GATE_KEYS)
    pipeline: dict[str, Any] = {"safe_threshold": cal.safe_threshold, "category_thresholds": dict(cal.category_thresholds)}
    if settings.pipeline.actions:
        pipeline["actions"] = dict(settings.pipeline.actions)
    out["pipeline"] = pipeline
    return out


def _header(cal: Calibration, benign: list[str], unsafe: list[str]) -> str:
    p = cal.point
    lines = [
        f"written by lance calibrate, {datetime.now():%Y-%m-%d %H:%M}",
        f"budget {cal.budget:.2%}: benign leave-rate {p.benign_leave_rate:.2%} ({p.benign_left}/{p.n_benign}), "
        f"unsafe catch rate {p.unsafe_catch_rate:.2%} ({p.unsafe_caught}/{p.n_unsafe}) on the calibration prompts",
        "benign: " + "; ".join(benign),
        "unsafe: " + "; ".join(unsafe),
        "use: lance --config THIS_FILE serve (or copy the pipeline section into your config)",
    ]
    return "".join(f"# {line}\n" for line in lines)


def write_fragment(
    path: Path, cal: Calibration, settings: LanceSettings, *, benign: list[str], unsafe: list[str]
) -> Path:
    """Write the fragment atomically (parent folders created) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(fragment(cal, settings), sort_keys=False, default_flow_style=False, allow_unicode=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(_header(cal, benign, unsafe) + body, encoding="utf-8")
    tmp.replace(path)
    return path


def check_fragment(path: Path, cal: Calibration, settings: LanceSettings) -> list[str]:
    """Load ``path`` through the settings loader (with this environment); the keys that differ from ``cal``."""
    loaded = load_settings(Path(path)).pipeline
    want = cal.config(settings.pipeline)
    keys = ("safe_threshold", "category_thresholds", "actions")
    return [k for k in keys if getattr(loaded, k) != getattr(want, k)]
