"""``lance config``: show the configuration in force."""

from __future__ import annotations

import typer
import yaml

from lance.cli._state import STATE, console

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print the merged configuration (defaults < YAML < LANCE_* env < flags) as YAML."""
    data = STATE.settings().model_dump(mode="json")
    if data.get("backend", {}).get("api_key"):
        data["backend"]["api_key"] = "***"
    console.print(yaml.safe_dump(data, sort_keys=False), markup=False, highlight=False)
