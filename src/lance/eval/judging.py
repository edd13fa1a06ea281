"""The judges as the evaluation uses them: one call per answer, one plain dict out.

The judges themselves live in ``lance.judges`` (refusal detector, response-safety judge,
quality measures); this module only adapts their verdicts into the run record and names the
judge that produced each verdict (``judge`` fields), so a report can say which judge counted
what, and a later ``lance eval --judge`` pass with another judge is distinguishable.
"""

from __future__ import annotations

import logging
from typing import Any

from lance.config import LanceSettings

log = logging.getLogger(__name__)


def _name(obj: Any) -> str:
    base = getattr(obj, "name", None) or type(obj).__name__
    version = getattr(obj, "version", None)
    return f"{base}@{version}" if version is not None else str(base)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


class EvalJudges:
    """Refusal detector + safety judge + quality measures, built once per run."""

    def __init__(self, refusal: Any, safety: Any, quality: Any | None = None) -> None:
        self.refusal = refusal
        self.safety = safety
        self.quality = quality

    @classmethod
    def load(cls, settings: LanceSettings) -> EvalJudges:
        from lance.judges import load_judges  # type: ignore[attr-defined]

        refusal, safety, quality = load_judges(settings)
        return cls(refusal, safety, quality)

    def describe(self) -> dict[str, Any]:
        return {
            "refusal": _name(self.refusal),
            "safety": _name(self.safety),
            "quality": _name(self.quality) if self.quality is not None else None,
        }

    def judge(self, prompt: str, response: str, label: str | None = None) -> dict[str, Any]:
        names = self.describe()
        r = self.refusal.detect(prompt, response)
        s = self.safety.judge(prompt, response)
        out: dict[str, Any] = {
            "refusal": {
                "label": str(_get(r, "label", "refusal")),
                "rigidity": float(_get(r, "rigidity", default=0.0)),
                "judge": names["refusal"],
            },
            "safety": {
                "label": "unsafe" if _get(s, "unsafe", default=str(_get(s, "label")) == "unsafe") else "safe",
                "categories": list(_get(s, "categories", default=()) or ()),
                "score": _get(s, "score", "p_unsafe", default=None),
                "judge": names["safety"],
            },
        }
        if self.quality is not None:
            q = self.quality.measure(prompt, response)
            qd = q if isinstance(q, dict) else q.model_dump() if hasattr(q, "model_dump") else dict(vars(q))
            out["quality"] = {**qd, "judge": names["quality"]}
        return out
