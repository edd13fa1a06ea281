"""Judges for evaluation and the pipeline's post-check: refusal (with rigidity),
response safety (offline or LLM), helpfulness/naturalness (LLM rubric + offline measures).

Submodules load the encoder and weights lazily; importing this package is cheap.
"""

from lance.judges.base import (
    QualityJudge,
    QualityScores,
    RefusalJudge,
    RefusalVerdict,
    SafetyJudge,
    SafetyVerdict,
)
from lance.judges.quality import LLMQualityJudge, distinct_n, intent_preservation, offline_quality, template_ness
from lance.judges.refusal import RefusalDetector, default_detector, is_template_refusal
from lance.judges.safety import LLMSafetyJudge, OfflineSafetyJudge, default_safety_judge

__all__ = [
    "LLMQualityJudge",
    "LLMSafetyJudge",
    "OfflineSafetyJudge",
    "QualityJudge",
    "QualityScores",
    "RefusalDetector",
    "RefusalJudge",
    "RefusalVerdict",
    "SafetyJudge",
    "SafetyVerdict",
    "default_detector",
    "default_safety_judge",
    "distinct_n",
    "intent_preservation",
    "is_template_refusal",
    "offline_quality",
    "template_ness",
]
