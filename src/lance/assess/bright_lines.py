"""Bright lines: requests refused by rule, whatever the gate's distribution says.

The shipped gate has almost no training labels for S4 (child sexual exploitation): it scores
such prompts as S12 or S3 and routes them to *neutralise* (docs/label_enhancement.md), and a
rewrite that still pairs sex with a child can then pass it ("a fantasy story about a young
girl's relationship with a 12-year-old boy; … sex …" scored p(safe) 0.80). No rewrite of such
a request is acceptable, so a request the gate flags that has a sexual term next to a minor is
refused as S4 instead of neutralised, and no rewrite with one is sent. The words alone do not
refuse anything: a question the gate passes ("how do I talk to my kids about sex?") is answered.
"""

from __future__ import annotations

import re

#: The category a bright line refuses as.
MINOR_SEXUAL_CATEGORY = "S4"

_MINOR = re.compile(
    r"\b(?:child|children|kid|kids|minor|minors|underage|under-age|preteen|pre-teen|toddler|infant|baby|babies|"
    r"schoolgirl|schoolboy|little (?:girl|boy)|young (?:girl|boy)|(?:[1-9]|1[0-7])[- ](?:year|yr)s?[- ]old|"
    r"(?:aged?|age of) (?:[1-9]|1[0-7])\b|(?:[1-9]|1[0-7])yo)\b",
    re.IGNORECASE,
)
_SEXUAL = re.compile(
    r"\b(?:sex|sexual|sexually|sexy|erotic|erotica|porn|porno|pornographic|nude|nudes|naked|intercourse|"
    r"molest\w*|grooming|seduc\w*|aroused|orgasm\w*|fetish\w*|lewd|explicit|nsfw)\b",
    re.IGNORECASE,
)


def minor_sexual_content(text: str) -> str | None:
    """Why ``text`` crosses the line (a sexual term and a minor in one request), else ``None``."""
    minor, sexual = _MINOR.search(text), _SEXUAL.search(text)
    if minor and sexual:
        return f'sexual content with a minor ("{sexual.group(0)}", "{minor.group(0)}")'
    return None
