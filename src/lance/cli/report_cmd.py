"""``lance report RUN_DIR``: Markdown and a self-contained HTML page from a run's results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lance.cli._state import console


def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A `lance eval --out` directory.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write the report (default: RUN_DIR).")] = None,
) -> None:
    """Tables (rigid rejection, over-refusal, unsafe compliance, quality, cost; bootstrap 95% CIs) and plots."""
    from lance.eval.report import build_report

    res = build_report(run_dir, out)
    console.print(f"wrote {res['markdown']} and {res['html']} ({len(res['plots'])} plots)", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
