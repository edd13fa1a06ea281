"""``lance respond``, ``lance refine`` and ``lance chat``: the pipeline from the command line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lance.cli._state import STATE, console, err_console, read_prompt_arg

if TYPE_CHECKING:
    from lance import Lance
    from lance.assess.distribution import RiskDistribution
    from lance.result import LanceResult, RefineResult

_ROUTE_STYLE = {"pass": "green", "neutralize": "yellow", "refuse": "red"}


def _lance() -> Lance:
    from lance import Lance

    with err_console.status("loading models...", spinner="dots"):
        lance = Lance.from_settings(STATE.settings())
        _ = lance.pipeline  # load now, so errors surface before any prompt is read
    return lance


def _dist_line(d: RiskDistribution) -> str:
    tops = ", ".join(f"{c} {p:.2f}" for c, p in d.top_risks(3))
    return f"p(safe) {d.p_safe:.2f} | top risks: {tops}"


def _print_gradients(gradients: list[Any]) -> None:
    from lance.gradients.render import render_gradient

    if gradients:
        console.print("[bold]gradient[/]")
        console.print(render_gradient(gradients[0]), markup=False, highlight=False, soft_wrap=True)


def _print_result(r: LanceResult) -> None:
    style = _ROUTE_STYLE[r.route]
    console.print(f"[bold]route[/]    [{style}]{r.route}[/]  [dim]({r.reason})[/]", soft_wrap=True)
    console.print(f"[bold]before[/]   {_dist_line(r.distribution_before)}", highlight=False)
    _print_gradients(r.gradients)
    if r.route == "neutralize" and r.refined_prompt is not None:
        console.print("[bold]refined[/]  ", end="")
        console.print(r.refined_prompt, markup=False, highlight=False, soft_wrap=True)
        if r.distribution_after is not None:
            console.print(f"[bold]after[/]    {_dist_line(r.distribution_after)}", highlight=False)
    console.print("[bold]answer[/]")
    console.print(r.response, markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"[dim]{r.llm_calls} LLM call(s), {r.usage.total_tokens} tokens, {r.latency_s:.2f}s"
        + (f"; errors: {'; '.join(r.errors)}" if r.errors else "")
        + "[/]",
        highlight=False,
    )


def respond(
    prompt: Annotated[str, typer.Argument(help="The prompt, or - to read it from stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the readable view.")] = False,
) -> None:
    """Answer PROMPT through LANCE: assess, route (pass / neutralize / refuse), refine, respond."""
    text = read_prompt_arg(prompt, "respond")
    with _lance() as lance:
        with err_console.status("responding...", spinner="dots"):
            result = lance.respond(text)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        _print_result(result)


def _refine_json(r: RefineResult) -> dict[str, Any]:
    return {
        "prompt": r.prompt,
        "refined_prompt": r.refined_prompt,
        "accepted": r.accepted,
        "distribution_before": r.distribution_before.to_json(),
        "distribution_after": r.distribution_after.to_json(),
        "gradients": [g.model_dump(mode="json") for g in r.gradients],
        "steps": [
            {"index": s.index, "prompt": s.prompt, "verdict": s.verdict, "reason": s.reason, "p_safe": s.distribution.p_safe,
             "similarity": s.similarity, "llm_calls": s.llm_calls}
            for s in r.trajectory.steps
        ],
        "llm_calls": r.llm_calls,
        "usage": {"prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens},
        "latency_s": round(r.latency_s, 4),
    }


def refine(
    prompt: Annotated[str, typer.Argument(help="The prompt, or - to read it from stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the readable view.")] = False,
) -> None:
    """Rewrite PROMPT along its textual gradient (the target is not called) and show each step."""
    text = read_prompt_arg(prompt, "refine")
    with _lance() as lance:
        with err_console.status("refining...", spinner="dots"):
            r = lance.refine(text)
    if as_json:
        sys.stdout.write(json.dumps(_refine_json(r), ensure_ascii=False) + "\n")
        return
    console.print(f"[bold]before[/]   {_dist_line(r.distribution_before)}", highlight=False)
    _print_gradients(r.gradients)
    for s in r.trajectory.steps[1:]:
        style = {"accepted": "green", "rejected": "yellow", "error": "red"}.get(s.verdict, "white")
        console.print(f"[bold]step {s.index}[/] [{style}]{s.verdict}[/] [dim]{s.reason}[/]", soft_wrap=True)
        for c in s.candidates:
            tag = c.invalid or f"risk {c.risk:.2f}, similarity {c.similarity:.2f}"
            console.print(f"   [dim]- ({tag})[/] ", end="")
            console.print(c.text, markup=False, highlight=False, soft_wrap=True)
    if r.refined_prompt is None:
        console.print("[yellow]no rewrite accepted[/]: the prompt would be refused naturally")
    else:
        console.print("[bold]refined[/]  ", end="")
        console.print(r.refined_prompt, markup=False, highlight=False, soft_wrap=True)
        console.print(f"[bold]after[/]    {_dist_line(r.distribution_after)}", highlight=False)
    console.print(f"[dim]{r.llm_calls} LLM call(s), {r.usage.total_tokens} tokens, {r.latency_s:.2f}s[/]")


def chat(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show route and refined prompt for each turn.")] = False,
) -> None:
    """Talk to the target through LANCE, turn by turn (each user turn is assessed in context). /exit or EOF ends."""
    from lance.backends.base import Message

    history: list[Message] = []
    with _lance() as lance:
        err_console.print("[dim]LANCE chat: type a message; /exit or Ctrl-D ends.[/]")
        while True:
            try:
                err_console.print("[bold cyan]you>[/] ", end="")
                line = sys.stdin.readline()
            except KeyboardInterrupt:
                break
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line in {"/exit", "/quit"}:
                break
            history.append(Message(role="user", content=line))
            result = lance.respond(history)
            if verbose:
                extra = f" → {result.refined_prompt}" if result.route == "neutralize" else ""
                err_console.print(f"[dim]({result.route}{extra})[/]", highlight=False, soft_wrap=True)
            console.print("[bold magenta]lance>[/] ", end="")
            console.print(result.response, markup=False, highlight=False, soft_wrap=True)
            # The conversation keeps what the user saw; the next turn is assessed in that context.
            history.append(Message(role="assistant", content=result.response))


def register(app: typer.Typer) -> None:
    app.command("respond")(respond)
    app.command("refine")(refine)
    app.command("chat")(chat)
