"""``lance serve``: the OpenAI-compatible proxy with LANCE in front of the configured backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lance.cli._state import STATE, err_console

if TYPE_CHECKING:
    from lance.backends import ChatModel
    from lance.config import LanceSettings
    from lance.lance import Lance
    from lance.server.engine import PassthroughResponder


def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (server.host; default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (server.port; default 8080).")] = None,
    api_key: Annotated[
        Optional[list[str]],
        typer.Option("--api-key", help="Accepted bearer key (repeatable; also server.api_keys, LANCE_API_KEYS)."),
    ] = None,
    max_concurrency: Annotated[Optional[int], typer.Option(help="Requests processed at once.")] = None,
    max_queue: Annotated[Optional[int], typer.Option(help="Requests allowed to wait; more get 429.")] = None,
    request_timeout: Annotated[Optional[float], typer.Option(help="Seconds per request before 504.")] = None,
    max_tokens_cap: Annotated[
        Optional[int], typer.Option(help="Upper bound on a request's max_tokens (server.max_tokens_cap; default 1024).")
    ] = None,
    allow_unauthenticated: Annotated[
        Optional[bool],
        typer.Option(
            "--allow-unauthenticated",
            help="Serve a non-loopback --host without any API key (refused otherwise; server.allow_unauthenticated).",
        ),
    ] = None,
    expose_risk: Annotated[
        Optional[bool],
        typer.Option(
            "--expose-risk",
            help="Send risk distributions in the lance field and answer /v1/lance/assess (server.expose_risk).",
        ),
    ] = None,
    expose_refined_prompt: Annotated[
        Optional[bool], typer.Option("--expose-refined-prompt", help="Show the refined prompt in the lance field.")
    ] = None,
    expose_gradients: Annotated[
        Optional[bool], typer.Option("--expose-gradients", help="Show the textual gradients in the lance field.")
    ] = None,
    server_debug: Annotated[
        Optional[bool],
        typer.Option("--server-debug", help="Expose refined prompt, gradients, trajectory and error details (never in production)."),
    ] = None,
    ui: Annotated[
        Optional[bool],
        typer.Option("--ui/--no-ui", help="Serve the operator's audit page at /ui (server.ui; on by default)."),
    ] = None,
    passthrough: Annotated[
        bool, typer.Option("--passthrough", help="Forward to the backend without LANCE (a baseline for benchmarks).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the OpenAI chat-completions API at http://HOST:PORT/v1 with LANCE in front of the backend."""
    from lance.lance import Lance
    from lance.server.app import create_app
    from lance.config.server import check_exposure, is_loopback, server_config
    from lance.server.run import limit_cpu
    from lance.server.run import serve as run_server

    settings = STATE.settings()
    config = server_config(
        settings.server,
        extra_keys=api_key or (),
        host=host,
        port=port,
        max_concurrency=max_concurrency,
        max_queue=max_queue,
        request_timeout=request_timeout,
        max_tokens_cap=max_tokens_cap,
        expose_refined_prompt=expose_refined_prompt,
        expose_gradients=expose_gradients,
        debug=server_debug,
        ui=ui,
        allow_unauthenticated=allow_unauthenticated,
        expose_risk=expose_risk,
    )
    check_exposure(config)  # before any model loads: a refused start costs nothing
    limit_cpu(config)
    models, backend = _build(settings, passthrough, config.refine_slots, config.refine_defer_s)
    try:
        with err_console.status("loading models...", spinner="dots"):
            if isinstance(backend, Lance):
                backend.assess("warm-up")  # load the encoder and assessor before accepting traffic
            app = create_app(backend, config)
        auth = f"{len(config.api_keys)} API key(s)" if config.api_keys else "no API key"
        if not config.api_keys and not is_loopback(config.host):
            err_console.print(
                f"[bold yellow]warning:[/] serving {config.host} with no API key (--allow-unauthenticated): "
                "anyone who can reach the port can use the model",
                highlight=False,
            )
        err_console.print(
            f"LANCE serving {app.state.responder.name} on http://{config.host}:{config.port}/v1 ({auth}; Ctrl-C to stop)",
            highlight=False,
        )
        if config.ui:
            err_console.print(f"audit page: http://{config.host}:{config.port}/ui", highlight=False)
        run_server(app, config, log_level=log_level)
    finally:
        for m in models:
            m.close()


def _build(
    settings: LanceSettings, passthrough: bool, refine_slots: int | None = None, refine_defer_s: float = 0.0
) -> tuple[list[ChatModel], Lance | PassthroughResponder]:
    from lance.backends import get_chat_model
    from lance.server.engine import PassthroughResponder, build_lance

    if passthrough:
        model = get_chat_model(settings.backend)
        return [model], PassthroughResponder(model)
    lance, models = build_lance(settings, refine_slots=refine_slots, refine_defer_s=refine_defer_s)
    return models, lance


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
