"""A base encoder with its top layer(s) fine-tuned for the safety gate: the assessor's encoder.

The untouched MiniLM stays what ``get_encoder()`` returns (similarity checks need it); the
tuned variant is named ``<base>+lance-top-v1`` (e.g. ``all-MiniLM-L6-v2+lance-top-v1``) so an
LE checkpoint trained on it refuses any other encoder. The tuned weights (fp16) ship per base
encoder in ``checkpoints/``: ``encoder_top.pt`` for MiniLM (3 layers, ~10 MB) and
``encoder_top_mpnet.pt`` for the optional all-mpnet-base-v2 gate (3 layers, ~42 MB);
``lance train-gate`` reproduces them. They live beside the LE checkpoints that pin their digests
(``lance/assess/checkpoints``).
"""

from __future__ import annotations

import hashlib
import os
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lance.embeddings.packaged import DEFAULT_ENCODER, MPNET
from lance.errors import ModelFileError

if TYPE_CHECKING:
    import torch

TOP_TAG = "+lance-top-v1"
TOP_FORMAT = "lance-encoder-top/1"


#: Environment variable naming an encoder-top file to use instead of the packaged one
#: (candidate tops are tried without replacing the shipped file).
TOP_ENV = "LANCE_ENCODER_TOP"


#: Packaged tuned tops, by base encoder (files in ``lance/assess/checkpoints``).
PACKAGED_TOPS = {DEFAULT_ENCODER: "encoder_top.pt", MPNET: "encoder_top_mpnet.pt"}


def default_top_path(base: str = DEFAULT_ENCODER) -> Path:
    """``$LANCE_ENCODER_TOP`` when set, else the packaged top for ``base`` (MiniLM: ``encoder_top.pt``)."""
    env = os.environ.get(TOP_ENV)
    if env:
        return Path(env).expanduser()
    if base not in PACKAGED_TOPS:
        raise ModelFileError(f"no packaged encoder top for {base!r}; set ${TOP_ENV} to one made with "
                             "`lance train-gate --encoder ...`")
    return Path(str(files("lance.assess").joinpath("checkpoints", PACKAGED_TOPS[base])))


def save_top(path: Path, state: dict[str, torch.Tensor], *, name: str, info: dict[str, Any]) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    torch.save({"format": TOP_FORMAT, "name": name, "state": state, "info": info}, tmp)
    tmp.replace(path)
    return path


def load_top(path: Path | None = None) -> dict[str, Any]:
    import torch

    path = Path(path) if path is not None else default_top_path()
    if not path.is_file():
        raise ModelFileError(f"fine-tuned encoder top not found: {path} (reproduce it with `lance train-gate`)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise ModelFileError(f"encoder top {path} is unreadable ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != TOP_FORMAT:
        raise ModelFileError(f"{path} is not a LANCE encoder-top file (expected format {TOP_FORMAT!r})")
    raw["digest"] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return raw


def apply_top(st_model: Any, raw: dict[str, Any]) -> None:
    """Load the tuned layer weights into the sentence-transformers base model, in place."""
    import torch

    layers = st_model[0].auto_model.encoder.layer
    groups: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in raw["state"].items():
        idx, _, rest = key.partition(".")
        groups.setdefault(int(idx), {})[rest] = value
    try:
        for idx, sd in groups.items():
            layer = layers[idx]
            ref = layer.state_dict()
            layer.load_state_dict({k: v.to(ref[k].dtype) for k, v in sd.items()})
    except (IndexError, KeyError, RuntimeError) as exc:
        raise ModelFileError(f"encoder top does not fit the base encoder: {str(exc).splitlines()[0]}") from None
