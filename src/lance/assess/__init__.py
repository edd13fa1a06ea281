"""Assess stage: a prompt -> a risk distribution over ``safe`` + K categories.

``assess(texts)`` uses the packaged checkpoint; ``load_assessor(settings)`` honours
``le_checkpoint``, ``taxonomy`` and ``encoder``. Heavy modules (torch, the encoder) load on
first use, so importing ``lance.assess.distribution`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lance.assess.distribution import Assessor, RiskDistribution

if TYPE_CHECKING:
    from lance.assess.assessor import LabelEnhancementAssessor, assess, load_assessor
    from lance.assess.checkpoint import LECheckpoint, load_checkpoint

__all__ = [
    "Assessor",
    "LECheckpoint",
    "LabelEnhancementAssessor",
    "RiskDistribution",
    "assess",
    "load_assessor",
    "load_checkpoint",
]

_LAZY = {
    "LabelEnhancementAssessor": "lance.assess.assessor",
    "assess": "lance.assess.assessor",
    "load_assessor": "lance.assess.assessor",
    "LECheckpoint": "lance.assess.checkpoint",
    "load_checkpoint": "lance.assess.checkpoint",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lance.assess' has no attribute {name!r}")
