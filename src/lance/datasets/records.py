"""One record type for every dataset LANCE trains or evaluates on."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Label = Literal["safe", "unsafe"]
Split = Literal["train", "val", "test"]


def deterministic_split(key: str, val: float = 0.1, test: float = 0.2) -> Split:
    """Assign a split from a stable hash of ``key`` (same answer on every machine)."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    if h < test:
        return "test"
    if h < test + val:
        return "val"
    return "train"


class Record(BaseModel):
    """A prompt with a coarse label and the taxonomy categories known to apply.

    ``categories`` are *known positives* only. A category not listed is unknown,
    never negative: most public data labels one category at most.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    #: ``None`` for an unlabelled prompt (an operator's own file without a ``label`` column).
    label: Label | None
    categories: tuple[str, ...] = ()
    source: str
    split: Split
    #: Source-specific extras (original category names, XSTest type, ...).
    meta: dict[str, Any] = Field(default_factory=dict)
