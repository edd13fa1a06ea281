"""LE checkpoints: weights plus everything needed to refuse a mismatched setup.

A checkpoint is a ``torch.save`` dict of plain types (loadable with ``weights_only=True``):
the state dict, the taxonomy fingerprint and ids, the encoder's name and dimension, the
hyper-parameters and a free-form ``info`` (training data, seed, metrics, command).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from lance.embeddings.encoder import DEFAULT_ENCODER
from lance.assess.model import LEHyperParams, LEModel
from lance.embeddings.packaged import MPNET
from lance.errors import ModelFileError

FORMAT = "lance-le/1"


#: Packaged LE checkpoints by configured encoder (files in ``lance/assess/checkpoints``).
PACKAGED_CHECKPOINTS = {DEFAULT_ENCODER: "default.pt", MPNET: "mpnet.pt"}


def default_checkpoint_path(encoder: str = DEFAULT_ENCODER) -> Path:
    """The checkpoint shipped in the package for ``encoder`` (MiniLM: ``checkpoints/default.pt``).

    Any other encoder gets ``default.pt``, which then fails the encoder check with advice.
    """
    name = PACKAGED_CHECKPOINTS.get(encoder, "default.pt")
    return Path(str(files("lance.assess").joinpath("checkpoints", name)))


@dataclass
class LECheckpoint:
    """A trained LE model with the context it was trained in."""

    model: LEModel
    taxonomy_fingerprint: str
    taxonomy_ids: list[str]
    encoder_name: str
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        payload = {
            "format": FORMAT,
            "state_dict": state,
            "in_dim": self.model.in_dim,
            "n_classes": self.model.n_classes,
            "hyper_params": self.model.hp.model_dump(),
            "taxonomy_fingerprint": self.taxonomy_fingerprint,
            "taxonomy_ids": list(self.taxonomy_ids),
            "encoder_name": self.encoder_name,
            "info": self.info,
        }
        tmp = path.with_name(path.name + ".part")
        torch.save(payload, tmp)
        tmp.replace(path)
        return path

    def check(self, *, taxonomy_fingerprint: str | None = None, encoder_name: str | None = None, where: str = "") -> None:
        """Raise ``ModelFileError`` when the checkpoint was trained for another setup."""
        at = f" {where}" if where else ""
        if taxonomy_fingerprint is not None and taxonomy_fingerprint != self.taxonomy_fingerprint:
            raise ModelFileError(
                f"LE checkpoint{at} was trained on taxonomy {self.taxonomy_fingerprint!r} but the configured taxonomy is "
                f"{taxonomy_fingerprint!r}; retrain it with `lance train-le` or point le_checkpoint at a matching file"
            )
        if encoder_name is not None and encoder_name != self.encoder_name:
            raise ModelFileError(
                f"LE checkpoint{at} was trained on encoder {self.encoder_name!r} but the configured encoder is "
                f"{encoder_name!r}; retrain it with `lance train-le` or configure encoder.name={self.encoder_name!r}"
            )


def load_checkpoint(
    path: Path | None = None, *, taxonomy_fingerprint: str | None = None, encoder_name: str | None = None
) -> LECheckpoint:
    """Load a checkpoint (``None`` = the packaged default) and check it matches the setup."""
    path = Path(path) if path is not None else default_checkpoint_path()
    if not path.is_file():
        raise ModelFileError(f"LE checkpoint not found: {path} (train one with `lance train-le --output {path}`)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise ModelFileError(f"LE checkpoint {path} is unreadable ({type(exc).__name__}); retrain or re-download it") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a LANCE LE checkpoint (expected format {FORMAT!r})")
    try:
        hp = LEHyperParams.model_validate(raw["hyper_params"])
        model = LEModel(int(raw["in_dim"]), int(raw["n_classes"]), hp)
        model.load_state_dict(raw["state_dict"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelFileError(f"LE checkpoint {path} is inconsistent: {str(exc).splitlines()[0]}") from None
    model.eval()
    ckpt = LECheckpoint(
        model=model,
        taxonomy_fingerprint=str(raw["taxonomy_fingerprint"]),
        taxonomy_ids=list(raw["taxonomy_ids"]),
        encoder_name=str(raw["encoder_name"]),
        info=dict(raw.get("info") or {}),
    )
    ckpt.check(taxonomy_fingerprint=taxonomy_fingerprint, encoder_name=encoder_name, where=str(path))
    return ckpt
