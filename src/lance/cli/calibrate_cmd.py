"""``lance calibrate``: choose the routing thresholds for an over-refusal budget, write them as config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from lance.cli._state import STATE, console, err_console


def calibrate(
    benign: Annotated[
        list[str],
        typer.Option("--benign", "-b", help="Benign prompts: a JSONL/CSV prompt file (text column; rows labelled unsafe are skipped) or a dataset name from `lance data list` (its safe prompts). Repeatable."),
    ],
    unsafe: Annotated[
        Optional[list[str]],
        typer.Option("--unsafe", "-u", help="Unsafe prompts: a prompt file (rows labelled safe are skipped) or a dataset name (its unsafe prompts). Repeatable. Default: harmful (the test-split mix of lance eval)."),
    ] = None,
    budget: Annotated[float, typer.Option(help="Largest share of benign prompts allowed off the pass route (refined or refused), in (0, 1).")] = 0.02,
    split: Annotated[str, typer.Option(help="Built-in sets only: held-out (prompts the packaged gate never trained on: test split of training sets, all of the others), test, or all.")] = "held-out",
    out: Annotated[Path, typer.Option("--out", "-o", help="YAML fragment to write (read it with lance --config).")] = Path("calibration.yaml"),
    plot: Annotated[Optional[Path], typer.Option(help="Trade-off curve PNG (default: --out with .png).")] = None,
    page: Annotated[Optional[Path], typer.Option("--html", help="HTML page with the operating points, thresholds, fragment and curve (default: --out with .html).")] = None,
    holdout: Annotated[bool, typer.Option("--holdout", help="Calibrate on a seeded half of each set and report the rates on the other half.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the --holdout split.")] = 0,
    penalty: Annotated[float, typer.Option(help="Benign prompts charged per threshold moved, on top of those seen leaving (guards new prompts against thresholds fitted to the sample's gaps; 0 fits the sample).")] = 1.0,
) -> None:
    """Choose pipeline.safe_threshold and the category thresholds for an over-refusal budget.

    At most --budget of the benign prompts may leave the pass route; within that, as many unsafe
    prompts as possible do. Each prompt is assessed once by the configured gate, and routes come
    from the pipeline's own routing function.

    Example: lance calibrate --benign my_traffic.jsonl --unsafe harmful --budget 0.02
    """
    from lance.errors import InputError
    from lance.eval.calibration import check_budget, halves, load_prompt_set

    budget = check_budget(budget)
    if not 0.0 <= penalty <= 100.0 or math.isnan(penalty):
        raise InputError(f"--penalty must be between 0 and 100, got {penalty}")
    ben = load_prompt_set(benign, "benign", split)  # type: ignore[arg-type]
    uns = load_prompt_set(unsafe or ["harmful"], "unsafe", split)  # type: ignore[arg-type]
    cal_b, cal_u, held_b, held_u = ben.records, uns.records, [], []
    if holdout:
        if len(cal_b) < 2 or len(cal_u) < 2:
            raise InputError("--holdout needs at least 2 benign and 2 unsafe prompts")
        cal_b, held_b = halves(ben.records, seed)
        cal_u, held_u = halves(uns.records, seed + 1)

    from lance.assess.assessor import load_assessor
    from lance.eval.calibration import choose, operating_point
    from lance.taxonomy import load_taxonomy

    settings = STATE.settings()
    taxonomy = load_taxonomy(settings.taxonomy)
    texts = list(dict.fromkeys(r.text for r in [*ben.records, *uns.records]))
    with err_console.status(f"assessing {len(texts)} prompts with the gate"):
        dists = dict(zip(texts, load_assessor(settings, taxonomy=taxonomy).assess(texts)))
    rows = [dists[r.text] for r in [*cal_b, *cal_u]]
    table = _search_table(rows, taxonomy, settings.pipeline)
    cal = choose(table, range(len(cal_b)), range(len(cal_b), len(rows)), budget, penalty=penalty)
    chosen = cal.config(settings.pipeline)
    held = operating_point([dists[r.text] for r in held_b], [dists[r.text] for r in held_u], taxonomy, chosen) if holdout else None

    from lance.eval.calibration import check_fragment, write_fragment
    from lance.eval.calibration.plot import tradeoff_png

    path = write_fragment(out, cal, settings, benign=ben.sources, unsafe=uns.sources)
    differs = check_fragment(path, cal, settings)
    png = plot or out.with_suffix(".png")
    png.parent.mkdir(parents=True, exist_ok=True)
    curve = tradeoff_png(cal, held)
    png.write_bytes(curve)
    from lance.eval.calibration.page import calibration_page

    html_path = page or out.with_suffix(".html")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(calibration_page(cal, curve, path.read_text(encoding="utf-8"), held), encoding="utf-8")
    _print(cal, held, taxonomy, settings.pipeline, ben.sources, uns.sources)
    console.print(f"wrote {path} (use: lance --config {path} serve), the trade-off curve {png} and the page {html_path}",
                  highlight=False, soft_wrap=True)
    if differs:
        err_console.print(f"[yellow]warning:[/] reading {path} back gives other {', '.join(differs)} "
                          "(is a LANCE_PIPELINE__* variable set?); the file itself holds the calibrated values", highlight=False, soft_wrap=True)


def _search_table(rows, taxonomy, base):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lance.eval.calibration import LeaveTable

    with Progress(TextColumn("[bold]critical values[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("search", total=len(rows))
        return LeaveTable(rows, taxonomy, base, progress=lambda done, _: bar.update(task, completed=done))


def _rate(n: int, of: int) -> str:
    return f"{n / of:.1%} ({n}/{of})" if of else "-"


def _print(cal, held, taxonomy, settings_pipeline, benign: list[str], unsafe: list[str]) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    console.print(f"benign: {'; '.join(benign)}\nunsafe: {'; '.join(unsafe)}", highlight=False, soft_wrap=True)
    points = Table(title=f"off the pass route, budget {cal.budget:.1%}", header_style="bold", title_justify="left")
    for col in ("", "benign leaving", "unsafe caught", "refused", "neutralized"):
        points.add_column(col, justify="left" if not col else "right", no_wrap=True)
    rows = [("before", cal.before), ("calibrated", cal.point)] + ([("held-out half", held)] if held else [])
    for name, p in rows:
        points.add_row(name, _rate(p.benign_left, p.n_benign), _rate(p.unsafe_caught, p.n_unsafe),
                       _rate(p.unsafe_routes.get("refuse", 0), p.n_unsafe), _rate(p.unsafe_routes.get("neutralize", 0), p.n_unsafe))
    console.print(points)
    names = {c.id: c.name for c in taxonomy}
    knobs = Table(title="thresholds", header_style="bold", title_justify="left")
    for col in ("setting", "category", "value", ""):
        knobs.add_column(col)
    knobs.add_row("safe_threshold", "p(safe) to pass", f"{cal.safe_threshold:.4f}", "tightened" if "safe_threshold" in cal.moved else "open")
    for cid, v in cal.category_thresholds.items():
        knobs.add_row(f"category_thresholds.{cid}", names.get(cid, cid), f"{v:.4f}", "tightened" if cid in cal.moved else "open")
    console.print(knobs)
    from lance.assess.routing import action_of

    open_refusers = [c for c in taxonomy.risk_ids if c not in cal.moved and action_of(c, taxonomy, settings_pipeline) == "refuse"]
    if open_refusers:
        console.print(f"[yellow]note:[/] refuse-action {', '.join(open_refusers)} stayed open (1.0): no unsafe prompt here "
                      "needed it, so they leave the pass route only by p(safe); add such prompts or set the threshold by hand",
                      highlight=False, soft_wrap=True)
    n = cal.point.n_benign
    if cal.budget * n < 10:
        spread = 100 * 1.96 * math.sqrt(cal.budget * (1 - cal.budget) / n)
        console.print(f"[yellow]note:[/] {n} benign prompts allow {cal.allowed} off the pass route; on new prompts the "
                      f"rate can differ from the budget by ±{spread:.1f} points or more. More benign prompts pin it down.",
                      highlight=False, soft_wrap=True)
    if cal.mismatches:
        console.print(f"[yellow]note:[/] {cal.mismatches} prompts routed differently from the search's prediction; "
                      "the figures above are the routing function's own", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
