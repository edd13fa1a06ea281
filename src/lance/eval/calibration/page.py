"""The calibration as one self-contained HTML page: the operating points, the thresholds, the curve.

Written beside the YAML fragment so the choice can be reviewed (and attached to a change
request) without the terminal output; the PNG is embedded, so the page has no outside files.
"""

from __future__ import annotations

import base64
import html

from lance.eval.calibration.search import Calibration, OperatingPoint


def _row(name: str, p: OperatingPoint | None) -> str:
    if p is None:
        return ""
    return (f"<tr><td>{html.escape(name)}</td><td>{p.n_benign}</td><td>{100 * p.benign_leave_rate:.2f}%</td>"
            f"<td>{p.n_unsafe}</td><td>{100 * p.unsafe_catch_rate:.2f}%</td></tr>")


def calibration_page(cal: Calibration, png: bytes, fragment: str, held_out: OperatingPoint | None = None) -> str:
    """The page: before / calibrated / held-out rates, the chosen thresholds, the fragment and the curve."""
    cats = "".join(f"<tr><td>{html.escape(c)}</td><td>{t:.4f}</td></tr>" for c, t in sorted(cal.category_thresholds.items()))
    img = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LANCE calibration (budget {100 * cal.budget:.1f}%)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}pre{{background:#f5f5f5;padding:1rem;overflow:auto}}</style></head>
<body><h1>LANCE calibration</h1>
<p>Budget: at most {100 * cal.budget:.1f}% of benign prompts off the pass route
({cal.allowed} of the calibration set's benign prompts).</p>
<table class="points"><tr><th>configuration</th><th>benign</th><th>benign off pass</th><th>unsafe</th><th>unsafe caught</th></tr>
{_row("before (current settings)", cal.before)}{_row("calibrated", cal.point)}{_row("held-out half", held_out)}</table>
<h2>Thresholds</h2><p><code>safe_threshold</code>: {cal.safe_threshold:.4f}</p>
<table class="thresholds"><tr><th>category</th><th>threshold</th></tr>{cats}</table>
<h2>YAML fragment (<code>lance --config</code>)</h2><pre>{html.escape(fragment)}</pre>
<h2>Trade-off curve</h2><img alt="benign leave-rate against unsafe catch rate" src="data:image/png;base64,{img}">
</body></html>
"""
