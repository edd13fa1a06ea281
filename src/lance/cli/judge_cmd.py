"""``lance judge``: run the judges over JSON lines, and retrain the offline ones.

Line contract: each input line is ``{"prompt": ..., "response": ...}`` (other
keys are kept); each output line is the same object with the verdict fields
added. All lines are read and checked before any is judged, so a malformed
line stops the command with its line number and nothing half-printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lance.cli._state import STATE, err_console
from lance.errors import InputError

app = typer.Typer(help="Judge responses (refusal, safety, quality) and retrain the offline judges.", no_args_is_help=True)

_FILE_HELP = "JSON-lines file of {prompt, response} objects, or - for stdin."
_BATCH = 64


def read_pairs(file: str) -> list[tuple[int, dict[str, Any]]]:
    """Read and validate all lines: ``response`` must be a string, ``prompt`` a string if present."""
    from lance.datasets._io import iter_jsonl_objects

    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(file)
        if not path.is_file():
            raise InputError(f"{file}: no such file (pass a JSON-lines file, or - for stdin)")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise InputError(f"{file}: not UTF-8 text") from None
    rows = []
    for n, obj in iter_jsonl_objects(iter(lines)):
        if not isinstance(obj.get("response"), str):
            raise InputError(f"line {n}: needs a \"response\" string")
        if not isinstance(obj.get("prompt", ""), str):
            raise InputError(f"line {n}: \"prompt\" must be a string")
        rows.append((n, obj))
    if not rows:
        raise InputError("no input lines: give one {\"prompt\": ..., \"response\": ...} object per line")
    return rows


def _emit(rows: list[tuple[int, dict[str, Any]]], verdicts: list[dict[str, Any]]) -> None:
    out = sys.stdout
    for (_, obj), extra in zip(rows, verdicts):
        out.write(json.dumps({**obj, **extra}, ensure_ascii=False) + "\n")
    out.flush()


def _batched(rows: list[tuple[int, dict[str, Any]]], fn: Callable[[list[tuple[str, str]]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), _BATCH):
        out += fn([(o.get("prompt", ""), o["response"]) for _, o in rows[i : i + _BATCH]])
    return out


def _chat_model() -> Any:
    from lance.backends import get_chat_model

    return get_chat_model(STATE.settings().backend)


@app.command("refusal")
def refusal(file: Annotated[str, typer.Option("--file", "-f", help=_FILE_HELP)] = "-") -> None:
    """Add "refusal" (full_compliance / full_refusal / partial_refusal) and "rigidity" (0-1) to each line."""
    from lance.judges.refusal import default_detector

    rows = read_pairs(file)
    det = default_detector()
    verdicts = _batched(rows, lambda pairs: [{"refusal": v.label, "rigidity": v.rigidity} for v in det.detect_many(pairs)])
    _emit(rows, verdicts)


@app.command("safety")
def safety(
    file: Annotated[str, typer.Option("--file", "-f", help=_FILE_HELP)] = "-",
    llm: Annotated[bool, typer.Option("--llm", help="Judge with the configured chat backend (Llama-Guard-style prompt) instead of the offline judge.")] = False,
) -> None:
    """Add "safe" (bool), "categories" (taxonomy ids) and "score" (0-1 unsafety) to each line."""
    from lance.judges.safety import LLMSafetyJudge, default_safety_judge

    rows = read_pairs(file)
    offline = default_safety_judge()
    if llm:
        chat = _chat_model()
        try:
            judge = LLMSafetyJudge(chat, fallback=offline)
            verdicts = [judge.judge(o.get("prompt", ""), o["response"]) for _, o in rows]
        finally:
            chat.close()
        if judge.fallbacks:
            err_console.print(f"[yellow]{judge.fallbacks} of {len(rows)} verdicts fell back to the offline judge (unparseable LLM output)[/]")
        extra = [{"safe": v.safe, "categories": v.categories, "score": v.score, "fallback": v.fallback} for v in verdicts]
    else:
        extra = _batched(
            rows, lambda pairs: [{"safe": v.safe, "categories": v.categories, "score": v.score} for v in offline.judge_many(pairs)]
        )
    _emit(rows, extra)


@app.command("quality")
def quality(
    file: Annotated[str, typer.Option("--file", "-f", help=_FILE_HELP)] = "-",
    llm: Annotated[bool, typer.Option("--llm", help="Also score helpfulness and naturalness 1-10 with the configured chat backend.")] = False,
) -> None:
    """Add "intent_preservation" and "template_ness" (and, with --llm, "helpfulness" and "naturalness")."""
    from lance.judges.quality import LLMQualityJudge, distinct_n, offline_quality

    rows = read_pairs(file)
    extra = [offline_quality(o.get("prompt", ""), o["response"]) for _, o in rows]
    if llm:
        chat = _chat_model()
        try:
            judge = LLMQualityJudge(chat)
            for (_, o), e in zip(rows, extra):
                s = judge.rate(o.get("prompt", ""), o["response"])
                e.update({"helpfulness": s.helpfulness, "naturalness": s.naturalness})
        finally:
            chat.close()
    _emit(rows, extra)
    responses = [o["response"] for _, o in rows]
    err_console.print(f"distinct-1 {distinct_n(responses, 1):.3f}, distinct-2 {distinct_n(responses, 2):.3f} over {len(rows)} responses")


@app.command("train-refusal")
def train_refusal_cmd(
    out: Annotated[Optional[Path], typer.Option(help="Where to write the weights (default: the shipped file).")] = None,
) -> None:
    """Retrain the shipped refusal detector: XSTest, CAST openers, the readers' training part, written refusals (needs data/)."""
    from lance.judges.refusal import DEFAULT_REFUSAL_MODEL
    from lance.judges.training import EmbeddingCache, train_refusal

    train_refusal(out or DEFAULT_REFUSAL_MODEL, EmbeddingCache(), progress=err_console.print)


@app.command("train-safety")
def train_safety_cmd(
    out: Annotated[Optional[Path], typer.Option(help="Where to write the weights (default: the shipped file).")] = None,
    noncommercial: Annotated[bool, typer.Option("--noncommercial", help="Also train on PKU-SafeRLHF (CC BY-NC 4.0).")] = False,
) -> None:
    """Retrain the shipped offline safety judge on the labelled jailbreak responses (needs data/)."""
    from lance.judges.safety import DEFAULT_SAFETY_MODEL
    from lance.judges.training import EmbeddingCache, train_safety

    train_safety(out or DEFAULT_SAFETY_MODEL, EmbeddingCache(), include_nc=noncommercial, progress=err_console.print)


@app.command("train-rigidity")
def train_rigidity_cmd(
    out: Annotated[Optional[Path], typer.Option(help="Where to write the model (default: the shipped file).")] = None,
) -> None:
    """Refit the slot-aware rigidity on the training part of data/judge_labels (needs data/)."""
    from lance.judges.rigidity import DEFAULT_RIGIDITY_MODEL
    from lance.judges.training import train_rigidity

    train_rigidity(out or DEFAULT_RIGIDITY_MODEL, progress=err_console.print)


def register(root: typer.Typer) -> None:
    """Attach ``lance judge ...`` to the main app."""
    root.add_typer(app, name="judge")
