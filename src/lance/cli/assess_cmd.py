"""``lance assess``: the risk distribution of a prompt (readable), or JSONL for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lance.assess.distribution import RiskDistribution
from lance.cli._state import STATE, console, read_prompt_arg
from lance.config import PRECISIONS
from lance.errors import InputError
from lance.taxonomy import Taxonomy


def _read_lines(file: str) -> list[str]:
    if file == "-":
        data = sys.stdin.read()
    else:
        try:
            data = Path(file).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError(f"input file not found: {file}") from None
        except IsADirectoryError:
            raise InputError(f"input file is a directory: {file}") from None
    return data.splitlines()


def assess(
    prompt: Annotated[Optional[str], typer.Argument(help="The prompt, or - to read it from stdin.")] = None,
    file: Annotated[Optional[str], typer.Option("--file", "-f", help="Assess one prompt per line of FILE (- = stdin).")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one JSON object per prompt: text, distribution, confidence, top.")] = False,
    top_k: Annotated[int, typer.Option("--top", min=1, help="Categories to show in readable output.")] = 5,
    precision: Annotated[
        Optional[str],
        typer.Option("--precision", help="Encoder arithmetic: fp32 (exact) or bf16 (~2x batched speed on CPUs "
                     "with AMX, probabilities within ~0.015). Default: encoder.precision from the config (fp32)."),
    ] = None,
) -> None:
    """Show how risky PROMPT looks: its distribution over safe + the taxonomy's categories."""
    from lance.assess.assessor import load_assessor
    from lance.taxonomy import load_taxonomy

    if file is not None and prompt is not None:
        raise InputError("give either PROMPT or --file, not both")
    if file is not None:
        texts = _read_lines(file)
    elif prompt is not None:
        texts = [read_prompt_arg(prompt, "assess")]
    else:
        raise InputError('nothing to assess: pass a prompt, e.g. lance assess "How do I kill a Python process?", or --file FILE')
    settings = STATE.settings()
    if precision is not None:
        if precision not in PRECISIONS:
            raise InputError(f"--precision must be {' or '.join(PRECISIONS)}, not {precision!r}")
        settings = settings.model_copy(update={"encoder": settings.encoder.model_copy(update={"precision": precision})})
    taxonomy = load_taxonomy(settings.taxonomy)
    assessor = load_assessor(settings, taxonomy=taxonomy)
    if jsonl:
        # one batched assess() per window of lines (the encoder length-sorts each window), and
        # output as each window finishes, so a big file neither waits nor piles up in memory
        out = sys.stdout
        for start in range(0, len(texts), assessor.batch_size):
            for r in assessor.assess(texts[start : start + assessor.batch_size]):
                out.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            out.flush()
        return
    for r in assessor.assess(texts):
        _print_readable(r, taxonomy, top_k)


def _print_readable(r: RiskDistribution, taxonomy: Taxonomy, top_k: int) -> None:
    from rich.table import Table

    names = {c.id: c.name for c in taxonomy}
    shown = r.text if len(r.text) <= 100 else r.text[:97] + "..."
    console.print("prompt: " + shown, highlight=False, markup=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("id")
    table.add_column("category")
    table.add_column("mass", justify="right")
    table.add_column("")
    for cid, p in sorted(r.probs.items(), key=lambda kv: kv[1], reverse=True)[:top_k]:
        table.add_row(cid, names.get(cid, cid), f"{p:.3f}", "#" * int(round(p * 30)))
    console.print(table)
    rest = max(0, len(r.probs) - top_k)
    note = " (input truncated to the encoder's limit)" if r.truncated else ""
    console.print(
        f"top: [bold]{r.top}[/] ({names.get(r.top, r.top)})  risk: {r.risk:.3f}  confidence: {r.confidence:.1f}"
        + (f"  [dim]+{rest} categories below[/]" if rest else "") + note,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("assess")(assess)
