"""The judges as the evaluation uses them: one call per answer, one plain dict out.

The judges live in ``lance.judges`` (refusal detector, response-safety judge, quality
measures and the optional LLM rubric); this module only loads them for a run and turns their
verdicts into the run record, naming the judge that produced each verdict (``judge`` fields)
so a report can say which judge counted what and a later ``lance eval --judge`` pass with
another judge is distinguishable. Judge identities are part of the run's config hash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from lance.backends.base import ChatModel
from lance.config import LanceSettings

log = logging.getLogger(__name__)

#: Offline per-answer quality measures: (prompt, response) -> {name: value}.
OfflineQuality = Callable[[str, str], dict[str, float | None]]


def judge_name(obj: Any) -> str:
    base = getattr(obj, "name", None) or type(obj).__name__
    version = getattr(obj, "version", None)
    return f"{base}@{version}" if version is not None else str(base)


class EvalJudges:
    """Refusal detector + safety judge (+ offline quality measures, + LLM rubric), built once per run."""

    def __init__(
        self,
        refusal: Any,
        safety: Any | None,
        *,
        quality: OfflineQuality | None = None,
        quality_name: str = "offline-quality",
        rubric: Any | None = None,
    ) -> None:
        self.refusal = refusal
        self.safety = safety
        self.quality = quality
        self.quality_name = quality_name
        self.rubric = rubric

    @classmethod
    def load(cls, settings: LanceSettings, *, judge_model: ChatModel | None = None) -> EvalJudges:
        """The shipped offline judges; with ``judge_model``, the LLM rubric (and LLM safety judge) on it."""
        from lance.judges.refusal import default_detector

        from lance.errors import ModelFileError

        refusal = default_detector()
        try:
            safety = _load_safety(refusal, judge_model)
        except ModelFileError as exc:  # weights not trained in this install: judge the rest, say so
            log.warning("no safety verdicts: %s", exc)
            safety = None
        quality, qname = _load_offline_quality(refusal)
        rubric = _load_rubric(judge_model) if judge_model is not None else None
        return cls(refusal, safety, quality=quality, quality_name=qname, rubric=rubric)

    def describe(self) -> dict[str, Any]:
        return {
            "refusal": judge_name(self.refusal),
            "safety": judge_name(self.safety) if self.safety is not None else None,
            "quality": self.quality_name if self.quality is not None else None,
            "rubric": judge_name(self.rubric) if self.rubric is not None else None,
        }

    def judge(self, prompt: str, response: str, label: str | None = None) -> dict[str, Any]:
        """All verdicts on one answer. ``label`` (the prompt's safe/unsafe label) is recorded, not used."""
        return self.judge_many([(prompt, response)])[0]

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """All verdicts on many ``(prompt, response)`` answers; the refusal and safety judges in one batch each."""
        pairs = list(pairs)
        refusals = _many(self.refusal, "detect", pairs)
        safeties = _many(self.safety, "judge", pairs) if self.safety is not None else [None] * len(pairs)
        return [self._record(p, r, ref, saf) for (p, r), ref, saf in zip(pairs, refusals, safeties)]

    def _record(self, prompt: str, response: str, r: Any, s: Any) -> dict[str, Any]:
        names = self.describe()
        out: dict[str, Any] = {
            "refusal": {
                "label": r.label,
                "rigidity": round(float(r.rigidity), 4),
                "probs": dict(getattr(r, "probs", {}) or {}),
                "judge": names["refusal"],
            },
        }
        if s is not None:
            out["safety"] = {
                "label": "safe" if s.safe else "unsafe",
                "categories": list(s.categories),
                "score": round(float(s.score), 4),
                "fallback": bool(getattr(s, "fallback", False)),
                "judge": getattr(s, "judge", "") or names["safety"],
            }
        q: dict[str, Any] = {}
        if self.quality is not None:
            q.update({k: (None if v is None else round(float(v), 4)) for k, v in self.quality(prompt, response).items()})
        if self.rubric is not None:
            rs = self.rubric.rate(prompt, response)
            q.update({"helpfulness": rs.helpfulness, "naturalness": rs.naturalness, "rubric_fallback": rs.fallback})
            q["rubric_judge"] = getattr(rs, "judge", "") or names["rubric"]
        if q:
            q["judge"] = " + ".join(n for n in (names["quality"], names["rubric"]) if n)
            out["quality"] = q
        return out


def _many(judge: Any, method: str, pairs: list[tuple[str, str]]) -> list[Any]:
    """``judge.<method>_many(pairs)`` when the judge batches, else one ``judge.<method>(p, r)`` per pair."""
    batched = getattr(judge, f"{method}_many", None)
    if batched is not None:
        return list(batched(pairs))
    return [getattr(judge, method)(p, r) for p, r in pairs]


def _load_safety(refusal: Any, judge_model: ChatModel | None) -> Any:
    """The offline safety judge; with ``judge_model``, the Llama-Guard-style LLM judge falling back to it."""
    from lance.judges.safety import LLMSafetyJudge, OfflineSafetyJudge

    offline = OfflineSafetyJudge(encoder=getattr(refusal, "encoder", None), refusal=refusal)
    if judge_model is not None:
        return LLMSafetyJudge(judge_model, fallback=offline)
    return offline


def _load_offline_quality(refusal: Any) -> tuple[OfflineQuality, str]:
    """Intent preservation and template-ness (``lance.judges.quality``), on the detector's encoder."""
    from lance.judges import quality as qmod

    encoder = getattr(refusal, "encoder", None)
    return (lambda p, r: qmod.offline_quality(p, r, encoder=encoder)), qmod.NAME


def _load_rubric(judge_model: ChatModel) -> Any:
    from lance.judges.quality import LLMQualityJudge

    return LLMQualityJudge(judge_model)
