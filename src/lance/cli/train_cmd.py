"""``lance train-le`` (the LE head on a frozen encoder) and ``lance train-gate`` (the shipped gate: tuned encoder top + LE head)."""

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
    from lance.assess.encoder import get_encoder
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
        from lance.assess.embed_cache import embed

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


def train_gate(
    top_output: Annotated[Path, typer.Option(help="Where to write the tuned encoder layers.")] = Path("encoder_top.pt"),
    le_output: Annotated[Path, typer.Option(help="Where to write the LE checkpoint trained on the tuned encoder.")] = Path("le.pt"),
    n_top: Annotated[int, typer.Option(min=1, max=6, help="How many of MiniLM's top layers to fine-tune.")] = 3,
    epochs: Annotated[int, typer.Option(min=0, help="Fine-tuning epochs (0 = frozen encoder).")] = 2,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate.")] = 2e-4,
    seed: Annotated[int, typer.Option(help="Seed for the mix, the split and the weights.")] = 0,
    lookalikes: Annotated[bool, typer.Option(help="Add generated benign look-alikes and mined alarming benign prompts.")] = True,
    exclude_families: Annotated[str, typer.Option(help="Look-alike families held out for the generalisation check (comma-separated).")] = "games_fiction,defensive",
    hs_cache: Annotated[Optional[Path], typer.Option(help="Torch file caching frozen hidden states between runs.")] = None,
    soup_seeds: Annotated[str, typer.Option(
        help="Comma-separated seeds: fine-tune one top per seed and ship their weight average (a model soup); "
             "empty = a single fine-tune with --seed.")] = "",
    item_categories: Annotated[bool, typer.Option(
        help="Add the per-prompt categories of lance.taxonomy.item_labels to the training mix.")] = False,
) -> None:
    """Fine-tune the encoder's top layers for the gate, then train the LE head on them.

    This is the recipe of the shipped ``encoder_top.pt`` + ``default.pt`` (see
    docs/label_enhancement.md); it prints selection and generalisation scores as it goes.
    Reads the datasets from the checkout's data/ (or $LANCE_DATA_DIR); its scores come from
    ``lance.assess.gate_metrics``, the same code as bench/gate_quality.py.
    """
    from lance.assess.finetune import main as finetune_main

    argv = ["--n-top", str(n_top), "--epochs", str(epochs), "--lr", str(lr), "--seed", str(seed),
            "--top-output", str(top_output), "--le-output", str(le_output)]
    if lookalikes:
        argv.append("--lookalikes")
        if exclude_families:
            argv += ["--exclude-families", exclude_families]
    if hs_cache is not None:
        argv += ["--hs-cache", str(hs_cache)]
    if soup_seeds:
        argv += ["--soup-seeds", soup_seeds]
    if item_categories:
        argv.append("--item-categories")
    finetune_main(argv)
