"""``lance eval``: run (or resume) the methods side by side on a benchmark; ``--judge`` re-judges a run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lance.cli._state import STATE, console, err_console


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def eval_cmd(
    dataset: Annotated[
        Optional[list[str]],
        typer.Option("--dataset", "-d", help="Dataset(s): xstest, harmful (mixed category-labelled unsafe test prompts) or any `lance data list` name. Repeat or comma-separate."),
    ] = None,
    file: Annotated[
        Optional[list[Path]],
        typer.Option("--file", "-f", help="Your own prompts: JSONL or CSV with a 'text' column, optional 'label' (safe/unsafe), 'category', 'id'; other columns kept. Repeatable; each is dataset file:<stem>."),
    ] = None,
    methods: Annotated[str, typer.Option(help="all, or comma-separated: vanilla,guard_block,safety_prompt,self_refine,single_direction,lance.")] = "all",
    limit: Annotated[Optional[int], typer.Option(help="At most N prompts per dataset (seeded; stratified by label).")] = None,
    concurrency: Annotated[Optional[int], typer.Option(help="Items in flight (default 1 for the in-process llamacpp and transformers, 8 for HTTP backends).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory (default runs/<dataset>-<timestamp>). Same --out resumes.")] = None,
    harmful_sets: Annotated[Optional[list[str]], typer.Option(help="Sets the 'harmful' dataset samples (test split).")] = None,
    seed: Annotated[int, typer.Option(help="Selection and per-item sampling seed.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Target answer length in tokens.")] = 128,
    temperature: Annotated[Optional[float], typer.Option(help="Target temperature (default: backend.temperature).")] = None,
    guard_threshold: Annotated[Optional[float], typer.Option(help="guard_block blocks when 1-p(safe) ≥ this (default 1 - pipeline.safe_threshold).")] = None,
    no_judge: Annotated[bool, typer.Option("--no-judge", help="Do not judge inline; judge later with --judge.")] = False,
    judge: Annotated[bool, typer.Option("--judge", help="Only judge the answers already in --out (writes judgments.jsonl).")] = False,
    backend: Annotated[Optional[str], typer.Option(help="Chat backend: llamacpp, openai or transformers.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model name sent to the OpenAI-compatible server.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key for the OpenAI-compatible server.")] = None,
    judge_base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server for the LLM judges (rubric helpfulness/naturalness, Llama-Guard-style safety).")] = None,
    judge_model: Annotated[Optional[str], typer.Option(help="Model name on --judge-base-url.")] = None,
    judge_api_key: Annotated[Optional[str], typer.Option(help="API key for --judge-base-url.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Answer every prompt with every method on the same target, judge, and append to RUN/results.jsonl.

    Killed at any point and started again with the same arguments, it finishes without losing
    or repeating an item. Example: lance eval --dataset xstest --dataset harmful --limit 20 --out runs/sample
    """
    from lance.config import load_settings
    from lance.errors import InputError

    over: dict[str, Any] = {k: v for k, v in {"kind": backend, "base_url": base_url, "model": model, "api_key": api_key}.items() if v is not None}
    overrides = dict(STATE.overrides)
    if over:
        overrides["backend"] = {**overrides.get("backend", {}), **over}
    settings = load_settings(STATE.config_path, overrides) if over else STATE.settings()

    from lance.eval.judging import EvalJudges

    judges = None
    if judge_base_url:
        from lance.backends import get_chat_model
        from lance.config import BackendConfig

        llm = get_chat_model(
            BackendConfig(kind="openai", base_url=judge_base_url, model=judge_model or "default", api_key=judge_api_key, temperature=0.0)
        )
        judges = EvalJudges.load(settings, judge_model=llm)

    if judge:
        if out is None:
            raise InputError("--judge needs --out RUN_DIR: the run whose answers to judge")
        from lance.eval.rejudge import rejudge

        n = rejudge(out, judges or EvalJudges.load(settings))
        console.print(f"judged {n} answers in {out} (judgments.jsonl)", soft_wrap=True)
        return

    from lance.eval.runner import EvalArgs, run_eval

    files = list(file or [])
    datasets = _split(dataset) or ([] if files else ["xstest"])
    args = EvalArgs(
        files=files,
        datasets=datasets,
        methods=[methods],
        limit=limit,
        seed=seed,
        concurrency=concurrency,
        max_tokens=max_tokens,
        temperature=temperature,
        harmful_sets=_split(harmful_sets) or EvalArgs().harmful_sets,
        guard_threshold=guard_threshold,
        judge=not no_judge,
    )
    names = datasets + [p.stem for p in files]
    run_dir = out or Path("runs") / f"{'+'.join(names)}-{datetime.now():%Y%m%d-%H%M%S}"
    with _progress_bar(quiet) as (on_start, progress):
        summary = run_eval(settings, args, run_dir, judges=judges if args.judge else None, on_start=on_start, progress=progress)
    console.print(
        f"{summary.run_dir}: {summary.done} new, {summary.skipped} already done, {summary.failed} failed "
        f"of {summary.total} in {summary.wall_s:.1f}s",
        soft_wrap=True,
        highlight=False,
    )
    for line in summary.errors[:5]:
        console.print(f"  failed: {line}", highlight=False, soft_wrap=True)
    if summary.failed:
        console.print("  rerun the same command to retry the failed items")
        raise typer.Exit(2)


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[tuple[Any, Any]]:
    """The (on_start, progress) hooks of ``run_eval`` drawing a rich progress bar on stderr (none when quiet)."""
    if quiet:
        yield None, None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err_console,
    ) as bar:
        task = bar.add_task("eval", total=None, failed=0)

        def on_start(todo: int, skipped: int) -> None:
            bar.update(task, total=todo)
            if skipped:
                bar.console.print(f"resuming: {skipped} finished item×method results kept, {todo} to go")

        def progress(done: int, failed: int) -> None:
            bar.update(task, completed=done + failed, failed=failed)

        yield on_start, progress


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
