"""The ``lance`` command line. Each command lives in its own module; this file
wires them together and turns LANCE errors into one-line messages."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import click
import typer

from lance.cli._state import STATE, err_console
from lance.errors import LanceError

app = typer.Typer(
    name="lance",
    help="LANCE: turn rigid refusals into safe, natural answers (assess, refine, respond, evaluate, serve).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (also LANCE_CONFIG).")] = None,
    backend: Annotated[Optional[str], typer.Option(help="Chat backend: llamacpp, openai or transformers.")] = None,
    model_path: Annotated[Optional[Path], typer.Option(help="GGUF file (llamacpp, transformers) or checkpoint folder (transformers).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model name sent to the OpenAI-compatible server.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key for the OpenAI-compatible server.")] = None,
    n_threads: Annotated[Optional[int], typer.Option(help="CPU threads for llama.cpp, or torch's (process-wide) for transformers.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    STATE.config_path = config
    STATE.debug = debug or STATE.debug
    backend_over: dict[str, Any] = {
        k: v
        for k, v in {
            "kind": backend,
            "model_path": model_path,
            "base_url": base_url,
            "model": model,
            "api_key": api_key,
            "n_threads": n_threads,
        }.items()
        if v is not None
    }
    STATE.overrides = {"backend": backend_over} if backend_over else {}
    STATE._settings = None


def _register() -> None:
    from lance.cli import config_cmd, generate_cmd

    app.command("generate")(generate_cmd.generate)
    app.add_typer(config_cmd.app, name="config")
    # Each further command module exposes ``register(app)``.
    import importlib

    for mod_name in ("data_cmd", "assess_cmd", "train_cmd", "respond_cmd", "judge_cmd", "eval_cmd", "calibrate_cmd", "report_cmd", "serve_cmd"):
        try:
            mod = importlib.import_module(f"lance.cli.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lance.cli.{mod_name}":
                continue
            raise
        mod.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    STATE.debug = "--debug" in sys.argv or os.environ.get("LANCE_DEBUG") == "1"
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LanceError as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
