"""``lance data``: list the public datasets and inspect one."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from lance.cli._state import console

app = typer.Typer(help="Inspect the public datasets LANCE trains and evaluates on.", no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """Every dataset with its safe/unsafe counts, categorised count, license and role."""
    from lance.datasets import list_datasets, load_dataset

    table = Table(title="LANCE datasets (data/)")
    for col, kw in (
        ("name", {"no_wrap": True}),
        ("safe", {"justify": "right"}),
        ("unsafe", {"justify": "right"}),
        ("with category", {"justify": "right"}),
        ("license", {}),
        ("role", {}),
    ):
        table.add_column(col, **kw)  # type: ignore[arg-type]
    for info in list_datasets():
        recs = load_dataset(info.name)
        labels = Counter(r.label for r in recs)
        role = info.role + (" (NC)" if info.noncommercial else "")
        table.add_row(
            info.name,
            str(labels["safe"]),
            str(labels["unsafe"]),
            str(sum(1 for r in recs if r.categories)),
            info.license,
            role,
        )
    console.print(table)


def _counts(title: str, counts: Counter[str], names: dict[str, str] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split()[-1])
    if names is not None:
        table.add_column("name")
    table.add_column("count", justify="right")
    for key, n in counts.most_common():
        row = [key] + ([names.get(key, "")] if names is not None else []) + [str(n)]
        table.add_row(*row)
    return table


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Dataset name, as printed by `lance data list`.")]) -> None:
    """Counts by label, category and split, plus three example texts."""
    from lance.datasets import dataset_info, load_dataset
    from lance.taxonomy import load_taxonomy

    info = dataset_info(name)
    recs = load_dataset(name)
    names = {c.id: c.name for c in load_taxonomy()}
    console.print(f"[bold]{info.name}[/]: {info.description}", highlight=False)
    console.print(f"license: {info.license}; role: {info.role}{' (non-commercial)' if info.noncommercial else ''}; "
                  f"records: {len(recs)}", highlight=False)
    cats = Counter(c for r in recs for c in r.categories)
    cats["(none / unknown)"] = sum(1 for r in recs if not r.categories)
    console.print(_counts("by label", Counter(r.label for r in recs)))
    console.print(_counts("by category", cats, names))
    console.print(_counts("by split", Counter(r.split for r in recs)))
    console.print("[bold]examples[/]")
    step = max(1, len(recs) // 3)
    for r in recs[::step][:3]:
        text = r.text if len(r.text) <= 300 else r.text[:300] + "..."
        console.print(f"- [{r.label}] {', '.join(r.categories) or '-'} ({r.id}): {text}", markup=False, highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="data")
