"""The post-check's refusal detector: the trained one when it loads, else the lexical one."""

from __future__ import annotations

import logging

from lance.judges.base import RefusalCheck
from lance.judges.lexical import TemplateRefusalDetector

log = logging.getLogger(__name__)


def postcheck_detector() -> RefusalCheck:
    """``lance.judges.RefusalDetector`` when available and loadable, else the lexical detector."""
    try:
        from lance.judges.refusal import RefusalDetector as JudgeDetector

        return JudgeDetector()  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - the judge is optional; the lexical detector always works
        log.debug("judges refusal detector unavailable (%s); using the lexical detector", exc)
        return TemplateRefusalDetector()
