"""``lance generate``: the configured backend's raw output for a prompt."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lance.cli._state import STATE, console, read_prompt_arg


def generate(
    prompt: Annotated[str, typer.Argument(help="The prompt, or - to read it from stdin.")],
    max_tokens: Annotated[Optional[int], typer.Option(help="Maximum new tokens.")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Sampling seed.")] = None,
    stop: Annotated[Optional[list[str]], typer.Option(help="Stop sequence (repeatable).")] = None,
    show_usage: Annotated[bool, typer.Option("--usage", help="Print token usage and latency after the text.")] = False,
) -> None:
    """Send PROMPT straight to the configured chat backend (no LANCE) and print its text."""
    from lance.backends import get_chat_model

    text = read_prompt_arg(prompt)
    settings = STATE.settings()
    with console.status("loading model...", spinner="dots"):
        chat = get_chat_model(settings.backend)
    try:
        with console.status("generating...", spinner="dots"):
            out = chat.generate(text, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=tuple(stop or ()) or None)
    finally:
        chat.close()
    console.print(out.text, markup=False, highlight=False, soft_wrap=True)
    if show_usage:
        console.print(
            f"[dim]{out.model}: {out.usage.prompt_tokens} prompt + {out.usage.completion_tokens} completion tokens, "
            f"{out.latency_s:.2f}s[/]"
        )
