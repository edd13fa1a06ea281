"""The trade-off curve of a calibration as a PNG: unsafe catch rate against benign leave-rate."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lance.eval.calibration.search import Calibration, OperatingPoint  # noqa: E402


def _xy(curve: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [100 * b for b, _ in curve], [100 * u for _, u in curve]


def tradeoff_png(cal: Calibration, held_out: OperatingPoint | None = None) -> bytes:
    """Both searches' curves, the budget, the configuration before and the chosen point (and held-out)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.step(*_xy(cal.curve), where="post", color="#2ca02c", label="safe_threshold + category thresholds")
    ax.step(*_xy(cal.safe_only_curve), where="post", color="#1f77b4", linestyle="--", label="safe_threshold alone")
    ax.axvline(100 * cal.budget, color="#7f7f7f", linestyle=":", label=f"budget {cal.budget:.1%}")
    ax.plot(100 * cal.before.benign_leave_rate, 100 * cal.before.unsafe_catch_rate, "s", color="#d62728",
            label="configuration before")
    ax.plot(100 * cal.point.benign_leave_rate, 100 * cal.point.unsafe_catch_rate, "o", color="black",
            label="chosen (calibration prompts)")
    if held_out is not None:
        ax.plot(100 * held_out.benign_leave_rate, 100 * held_out.unsafe_catch_rate, "D", color="#ff7f0e",
                label="chosen (held-out prompts)")
    xmax = max(5 * cal.budget, 1.3 * cal.before.benign_leave_rate, 0.1)
    ax.set_xlim(0, 100 * min(1.0, xmax))
    ax.set_ylim(0, 101)
    ax.set_xlabel("benign prompts leaving the pass route (%)")
    ax.set_ylabel("unsafe prompts caught (%)")
    ax.set_title(f"lance calibrate: {cal.point.n_benign} benign, {cal.point.n_unsafe} unsafe prompts")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
