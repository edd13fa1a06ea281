"""``lance train-le`` (the LE head on a frozen encoder), ``lance train-gate`` (the shipped gate: tuned encoder top + LE head) and ``lance train-window-gate`` (the window gate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lance.cli._state import STATE, console, err_console


def train_le(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the checkpoint (.pt).")] = Path("le.pt"),
    source: Annotated[Optional[list[str]], typer.Option(help="Keep only these sources of the training mix (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Drop these sources of the training mix (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the mix, the split and the weights.")] = 0,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs.")] = 40,
    val_split: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of training rows held out for early stopping.")] = 0.1,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without val improvement before stopping.")] = 5,
    hidden: Annotated[Optional[int], typer.Option(help="Hidden width (default from LEHyperParams).")] = None,
    prior_tau: Annotated[Optional[float], typer.Option(help="Strength of the kNN graph prior (0 = flat Dir(1)).")] = None,
    noncommercial: Annotated[bool, typer.Option(help="Include the CC BY-NC sets (Alpaca-derived benign prompts).")] = True,
    cache: Annotated[bool, typer.Option(help="Cache embeddings on disk under the cache dir.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train the LE model on ``training_mix()`` (test split and XSTest excluded) and save OUTPUT."""
    from lance.embeddings.encoder import get_encoder
    from lance.assess.model import LEHyperParams
    from lance.assess.train import TrainConfig, train_le as fit_records
    from lance.assets import default_cache_dir
    from lance.datasets import training_mix
    from lance.errors import InputError
    from lance.taxonomy import load_taxonomy

    settings = STATE.settings()
    taxonomy = load_taxonomy(settings.taxonomy)
    records = [r for r in training_mix(seed, noncommercial=noncommercial) if r.split != "test"]
    if source:
        records = [r for r in records if r.source in set(source)]
    if exclude:
        records = [r for r in records if r.source not in set(exclude)]
    if not records:
        raise InputError("no training records left after --source/--exclude; check the source names")
    hp_over = {k: v for k, v in {"hidden": hidden, "prior_tau": prior_tau}.items() if v is not None}
    hp = LEHyperParams(**hp_over)
    cfg = TrainConfig(seed=seed, epochs=epochs, val_frac=val_split, patience=patience)
    with console.status(f"embedding {len(records)} records...", spinner="dots"):
        encoder = get_encoder(settings.encoder.name, batch_size=settings.encoder.batch_size, max_chars=settings.encoder.max_chars)
        from lance.embeddings.cache import embed

        embed([r.text for r in records], encoder, default_cache_dir() if cache else None)
    command = "lance train-le " + " ".join(
        [f"--output {output}", f"--seed {seed}", f"--epochs {epochs}", f"--val-split {val_split}", f"--patience {patience}"]
        + ([] if noncommercial else ["--no-noncommercial"])
        + [f"--source {s}" for s in source or []] + [f"--exclude {s}" for s in exclude or []]
        + ([f"--hidden {hidden}"] if hidden is not None else []) + ([f"--prior-tau {prior_tau}"] if prior_tau is not None else [])
    )
    ckpt, history = fit_records(
        records, taxonomy=taxonomy, encoder=encoder, hp=hp, cfg=cfg,
        cache_dir=default_cache_dir() if cache else None, progress=not quiet, info={"command": command},
    )
    path = ckpt.save(output)
    size_kb = path.stat().st_size / 1024
    summary = {k: ckpt.info[k] for k in ("n_records", "n_unsafe", "n_categorised")}
    console.print(
        f"saved [bold]{path}[/] ({size_kb:.0f} KiB): best epoch {history['best_epoch'] + 1}/{history['epochs_run']}, "
        f"val loss {history['best_val_loss']:.4f}, {json.dumps(summary)}",
        highlight=False,
    )
    if history["epochs_run"] == epochs and history["best_epoch"] == epochs - 1:
        err_console.print("[yellow]note:[/] still improving at the last epoch; consider more --epochs")


def register(app: typer.Typer) -> None:
    app.command("train-le")(train_le)
    app.command("train-gate")(train_gate)
    app.command("train-window-gate")(train_window_gate)
    app.command("train-refiner")(train_refiner)


def _csv(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def train_gate(
    top_output: Annotated[Path, typer.Option(help="Where to write the tuned encoder layers.")] = Path("encoder_top.pt"),
    le_output: Annotated[Path, typer.Option(help="Where to write the LE checkpoint trained on the tuned encoder.")] = Path("le.pt"),
    encoder: Annotated[Optional[str], typer.Option(help="Base encoder: all-MiniLM-L6-v2 (default), all-mpnet-base-v2, or a local sentence-transformers folder.")] = None,
    n_top: Annotated[int, typer.Option(min=1, max=12, help="How many of the encoder's top layers to fine-tune.")] = 3,
    epochs: Annotated[int, typer.Option(min=0, help="Fine-tuning epochs (0 = frozen encoder).")] = 2,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate.")] = 2e-4,
    lambda_cat: Annotated[float, typer.Option(help="Weight of the known-category loss.")] = 0.5,
    max_per_part: Annotated[int, typer.Option(min=1, help="Cap per part of the training mix.")] = 3000,
    max_tokens: Annotated[int, typer.Option(min=8, help="Tokens per training text (the gate reads prompts' openings).")] = 64,
    seed: Annotated[int, typer.Option(help="Seed for the mix, the split and the weights.")] = 0,
    lookalikes: Annotated[bool, typer.Option(help="Add generated benign look-alikes and mined alarming benign prompts.")] = True,
    mine: Annotated[bool, typer.Option(help="With --lookalikes: the mined alarming Alpaca prompts too.")] = True,
    exclude_families: Annotated[str, typer.Option(help="Look-alike families held out for the generalisation check (comma-separated; '' for none).")] = "games_fiction,defensive",
    report_xstest: Annotated[bool, typer.Option(help="Also score XSTest (report only, never used to select).")] = False,
    hs_cache: Annotated[Optional[Path], typer.Option(help="Torch file caching frozen hidden states between runs.")] = None,
    results_json: Annotated[Optional[Path], typer.Option(help="Write every metric here as JSON.")] = None,
    soup_seeds: Annotated[str, typer.Option(
        help="Comma-separated seeds: fine-tune one top per seed and ship their weight average (a model soup); "
             "empty = a single fine-tune with --seed.")] = "",
    soup_from: Annotated[str, typer.Option(help="Comma-separated encoder-top files to average instead of fine-tuning.")] = "",
    drop_sources: Annotated[str, typer.Option(help="Comma-separated dataset names left out of the training mix.")] = "",
    request_first: Annotated[bool, typer.Option(help="HarmBench contextual behaviours as request + context.")] = False,
    item_categories: Annotated[bool, typer.Option(
        help="Add the per-prompt categories of lance.taxonomy.item_labels to the training mix.")] = False,
) -> None:
    """Fine-tune the encoder's top layers for the gate, then train the LE head on them.

    The defaults are the recipe of the shipped ``encoder_top.pt`` + ``default.pt`` (see
    docs/label_enhancement.md); it logs progress and prints selection and generalisation scores.
    Reads the datasets from the checkout's data/ (or $LANCE_DATA_DIR); its scores come from
    ``lance.assess.gate_metrics``, the same code as bench/gate_quality.py.
    """
    import logging

    from pydantic import ValidationError

    from lance.assess.gate_training import GateTrainingConfig, train_gate as run
    from lance.errors import InputError

    try:
        soups = [int(x) for x in _csv(soup_seeds)]
    except ValueError:
        raise InputError(f"--soup-seeds wants comma-separated integers, got {soup_seeds!r}") from None
    try:
        cfg = GateTrainingConfig(
            encoder=encoder, n_top=n_top, epochs=epochs, lr=lr, lambda_cat=lambda_cat, max_per_part=max_per_part,
            max_tokens=max_tokens, seed=seed, lookalikes=lookalikes, mine=mine, exclude_families=_csv(exclude_families),
            top_output=top_output, le_output=le_output, report_xstest=report_xstest, hs_cache=hs_cache,
            results_json=results_json, soup_seeds=soups, soup_from=[Path(x) for x in _csv(soup_from)],
            drop_sources=_csv(drop_sources), request_first=request_first, item_categories=item_categories,
        )
    except ValidationError as exc:
        raise InputError(f"train-gate: {exc.errors()[0]['msg']}") from None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    res = run(cfg)
    for key, value in res.items():
        if key not in ("config", "top"):
            console.print(f"{key}: {json.dumps(value) if isinstance(value, dict) else value}", highlight=False, soft_wrap=True)


def train_window_gate(
    top_output: Annotated[Path, typer.Option(help="Where to write the window gate's tuned encoder layers.")] = Path("window_top.pt"),
    le_output: Annotated[Path, typer.Option(help="Where to write the window gate's LE head.")] = Path("window.pt"),
    epochs: Annotated[int, typer.Option(min=1, help="Fine-tuning epochs.")] = 2,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate.")] = 2e-4,
    seed: Annotated[int, typer.Option(help="Seed for the hosts, the splices and the weights.")] = 0,
    neg_per_host: Annotated[int, typer.Option(min=1, help="Clean windows kept per host without a splice.")] = 6,
    spliced_share: Annotated[float, typer.Option(min=0, max=1, help="Share of hosts with a harmful request spliced in.")] = 0.5,
    hs_cache: Annotated[Optional[Path], typer.Option(help="Torch file caching frozen hidden states between runs.")] = None,
    results_json: Annotated[Optional[Path], typer.Option(help="Write the figures here as JSON.")] = None,
) -> None:
    """Train the window gate: the shipped gate's recipe on its mix plus 64-token windows of long
    benign texts and system prompts, with harmful training-split requests spliced in.

    Writes the pair shipped as ``checkpoints/window_top.pt`` + ``checkpoints/window.pt`` and prints
    the validation split's figures (benign windows flagged, spliced requests caught, per kind).
    See docs/pipeline.md, "Reading the whole input".
    """
    import logging

    from lance.assess.window_training import WindowGateConfig, train_window_gate as run

    cfg = WindowGateConfig(top_output=top_output, le_output=le_output, epochs=epochs, lr=lr, seed=seed,
                           neg_per_host=neg_per_host, spliced_share=spliced_share, hs_cache=hs_cache,
                           results_json=results_json)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    res = run(cfg)
    console.print(json.dumps(res["val"], indent=1), highlight=False, soft_wrap=True)


def train_refiner(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the GGUF LoRA adapter.")] = Path("lance-refiner.gguf"),
    data: Annotated[Optional[Path], typer.Option(help="Training rows (default: the repository's data/refiner_train/refiner_train.jsonl).")] = None,
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the examples.")] = 1.0,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 2e-4,
    rank: Annotated[int, typer.Option(min=1, max=256, help="LoRA rank.")] = 16,
    alpha: Annotated[int, typer.Option(min=1, help="LoRA alpha.")] = 32,
    batch_tokens: Annotated[int, typer.Option(min=64, help="Padded tokens per optimiser step.")] = 1536,
    max_rows: Annotated[Optional[int], typer.Option(min=1, help="Use at most this many rows (sampled by --seed).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many steps (smoke tests).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, batching and the weights.")] = 0,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Torch CPU threads (default: torch's).")] = None,
) -> None:
    """Train LANCE's refinement model: a LoRA adapter on the embedded Gemma 3 270M (CPU), exported as GGUF.

    transformers loads the packaged GGUF, peft trains the adapter on the rewrite and refusal
    examples of data/refiner_train (answer-only loss), llama.cpp's converter exports it and
    llama.cpp loads it once as a check. Needs the training extra: pip install -e '.[train]'.
    Defaults are the shipped recipe.
    """
    import logging

    from lance.refine.training import RefinerTrainingConfig, train_refiner as run

    cfg = RefinerTrainingConfig(output=output, data=data, epochs=epochs, lr=lr, rank=rank, alpha=alpha,
                                batch_tokens=batch_tokens, max_rows=max_rows, max_steps=max_steps, seed=seed,
                                threads=threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    info = run(cfg)
    console.print(
        f"wrote [bold]{output}[/] ({output.stat().st_size / 1e6:.1f} MB): {info['examples']} examples, {info['steps']} steps, "
        f"{info['tokens_per_s']:.0f} tokens/s, {info['train_seconds'] / 60:.1f} min; loss {info['first_loss']} -> {info['last_loss']}",
        highlight=False,
    )
