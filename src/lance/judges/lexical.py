"""A lexical template-refusal detector: refusal openers and stock phrases near the start.

No model, so it always works: the refiner uses it to throw out rewrites that are refusals,
and the post-check falls back to it when the trained detector cannot load.
"""

from __future__ import annotations

import re

_VERBS = (
    r"(?:help|assist|provide|fulfil+|comply|answer|write|create|generate|give|share|support|offer|engage|"
    r"discuss|do that|do this|produce|complete|continue|participate|be of help)"
)
_NEG = r"(?:can'?t|cannot|can not|won'?t|will not|unable|not able|not allowed|not comfortable|must decline)"
_OPENERS = re.compile(
    # an apology whose first sentence refuses ("I'm sorry, but I can't ..."; not "sorry to hear that")
    r"^\W*(?:(?:i'?m |i am )?sorry|my apologies|i apologi[sz]e)\b[^.!?\n]{0,40}?\b" + _NEG + "|"
    # a direct refusal opener ("I can't help with", "I won't provide")
    r"^\W*(?:unfortunately,? |no,? )?i (?:cannot|can ?not|can'?t|won'?t|will not|am unable to|'m unable to|"
    r"am not able to|'m not able to|'m afraid i (?:can'?t|cannot))\s+(?:\w+\s+)?" + _VERBS + "|"
    r"^\W*(?:i must (?:decline|refuse)|as an ai\b|as a language model)",
    re.IGNORECASE,
)
_PHRASES = re.compile(
    r"(cannot fulfill|can'?t fulfill|cannot (?:help|assist) with (?:that|this)|can'?t (?:help|assist) with (?:that|this)|"
    r"not able to (?:help|assist|provide) (?:with )?(?:that|this)|against my (?:guidelines|programming|policy|policies)|"
    r"i'?m not comfortable|i do not feel comfortable|it is not appropriate for me|i'?m just an ai|"
    r"(?:unable|not able) to comply|i must decline|cannot provide (?:that|this|information on)|can'?t provide (?:that|this))",
    re.IGNORECASE,
)


_ALTERNATIVE = re.compile(
    r"\b(?:but|however,?|though,?)\s+i\s+(?:can(?!['’]|not)|could(?!n)|would be (?:happy|glad))\b|\binstead\b|"
    r"\bi(?:'d| would) be (?:happy|glad) to\b|\bhappy to (?:help|talk|explain|cover)\b|\bwhat i can do\b|"
    r"\bi can (?:tell|explain|share|help) you\b",
    re.IGNORECASE,
)


class TemplateRefusalDetector:
    """Lexical: a refusal opener at the start, or a stock refusal phrase in the first 200 characters,
    with no safe alternative offered (a refusal that offers one is a natural, partial refusal)."""

    name = "template-regex"

    def detect(self, prompt: str, response: str) -> bool:
        text = response.strip()
        if not text:
            return False
        if not (_OPENERS.search(text) or _PHRASES.search(text[:200])):
            return False
        return not _ALTERNATIVE.search(text)
