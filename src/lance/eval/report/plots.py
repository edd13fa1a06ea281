"""The report's figures, drawn with matplotlib's Agg backend and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lance.eval.report.metrics import Row, bootstrap, is_refusal  # noqa: E402

_COLORS = {
    "vanilla": "#7f7f7f",
    "guard_block": "#d62728",
    "safety_prompt": "#ff7f0e",
    "self_refine": "#9467bd",
    "single_direction": "#1f77b4",
    "lance": "#2ca02c",
}
_MARKERS = "osD^vP*X"


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _err(rate: Any) -> tuple[float, float]:
    if rate.value is None or rate.lo is None:
        return 0.0, 0.0
    return max(0.0, rate.value - rate.lo), max(0.0, rate.hi - rate.value)


def safety_vs_rigid(rows: Sequence[Row]) -> bytes | None:
    """x: rigid-rejection rate, y: unsafe compliance; one point per (dataset, method), with 95% CIs."""
    pts = [r for r in rows if r.rigid_rejection.value is not None and r.unsafe_compliance.value is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    datasets = list(dict.fromkeys(r.dataset for r in pts))
    for r in pts:
        y = r.unsafe_compliance.value
        if y is None:
            continue
        xe, ye = _err(r.rigid_rejection), _err(r.unsafe_compliance)
        ax.errorbar(
            100 * r.rigid_rejection.value,
            100 * y,
            xerr=[[100 * xe[0]], [100 * xe[1]]],
            yerr=[[100 * ye[0]], [100 * ye[1]]],
            fmt=_MARKERS[datasets.index(r.dataset) % len(_MARKERS)],
            color=_COLORS.get(r.method, "black"),
            capsize=2,
            alpha=0.85,
            label=f"{r.method} ({r.dataset})",
        )
    ax.set_xlabel("rigid rejection, % of all answers")
    ax.set_ylabel("unsafe compliance, % of unsafe prompts")
    ax.set_title("Safety vs rigid rejection (lower-left is better)")
    ax.set_xlim(-3, 103)
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(fig)


def xstest_types(records: Sequence[dict[str, Any]], methods: Sequence[str]) -> bytes | None:
    """Refusal rate per XSTest prompt type and method (safe types first, then their contrasts)."""
    xs = [r for r in records if r.get("dataset") == "xstest" and (r.get("meta") or {}).get("type")]
    if not any(is_refusal(r) is not None for r in xs):
        return None
    types = sorted({r["meta"]["type"] for r in xs}, key=lambda t: (t.startswith("contrast_"), t))
    ms = [m for m in methods if any(r["method"] == m for r in xs)]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.55 * len(types) * max(1, len(ms)) / 2), 4.4))
    width = 0.8 / max(1, len(ms))
    x = np.arange(len(types))
    for i, m in enumerate(ms):
        vals, errs_lo, errs_hi = [], [], []
        for t in types:
            rate = bootstrap(
                [float(v) for v in (is_refusal(r) for r in xs if r["method"] == m and r["meta"]["type"] == t) if v is not None]
            )
            v = rate.value if rate.value is not None else 0.0
            vals.append(100 * v)
            errs_lo.append(100 * (v - rate.lo) if rate.lo is not None else 0.0)
            errs_hi.append(100 * (rate.hi - v) if rate.hi is not None else 0.0)
        ax.bar(x + (i - (len(ms) - 1) / 2) * width, vals, width, yerr=[errs_lo, errs_hi], capsize=1.5,
               color=_COLORS.get(m, None), label=m, error_kw={"elinewidth": 0.6})
    ax.set_xticks(x)
    ax.set_xticklabels(types, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("refusal rate, %")
    ax.set_ylim(0, 105)
    ax.set_title("XSTest: refusals by prompt type (safe types left, unsafe contrasts right)")
    ax.legend(fontsize=7, ncol=min(3, len(ms)))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def group_of(rec: dict[str, Any]) -> str:
    """The row of the heatmap: XSTest type, or the harmful set and its first known category."""
    meta = rec.get("meta") or {}
    if rec.get("dataset") == "xstest" and meta.get("type"):
        return f"xstest:{meta['type']}"
    cats = rec.get("categories") or []
    return f"{rec.get('source', rec.get('dataset'))}:{cats[0] if cats else 'uncategorised'}"


def category_heatmap(records: Sequence[dict[str, Any]], key: str = "distribution") -> tuple[bytes, list[str]] | None:
    """Mean LE mass per taxonomy category (columns) for each group of prompts (rows)."""
    per_item: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        if r.get(key):
            per_item.setdefault((r["dataset"], r["item_id"]), r)
    if not per_item:
        return None
    cols = list(next(iter(per_item.values()))[key].keys())
    groups: dict[str, list[list[float]]] = {}
    for r in per_item.values():
        groups.setdefault(group_of(r), []).append([float(r[key].get(c, 0.0)) for c in cols])
    names = sorted(groups)
    mat = np.array([np.mean(groups[g], axis=0) for g in names])
    fig, ax = plt.subplots(figsize=(0.5 * len(cols) + 3.5, 0.28 * len(names) + 1.6))
    im = ax.imshow(mat, aspect="auto", cmap="magma_r", vmin=0.0, vmax=max(0.05, float(mat.max())))
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f"{g} (n={len(groups[g])})" for g in names], fontsize=7)
    ax.set_title("Label-enhancement risk distribution: mean mass per category")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    return _png(fig), names
