"""How system turns are read: "never help with weapons" is a safety rule, not a risk.

An application's system prompt lists what the model must not do, and the gate, trained on user
requests, reads "never give instructions for explosives" as a request about explosives (57% of
54 ordinary system prompts in bench/data/system_prompts left the pass route that way). So a system
turn is assessed with its clean prohibitions set aside: a clause that forbids (never, do not,
must not, ...) is dropped from the reading unless it is a double negative ("never refuse",
"do not hesitate") or carries an exception ("unless", "except"), which are what an attack
would use. Everything else in the turn is read as usual; a harmful instruction phrased any other
way stays in the reading. With the window gate (``lance.assess.window_gate``), trained on such
system prompts, a system turn is read as written instead (``assess_system_turns``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lance.assess.distribution import Assessor, RiskDistribution

_CLAUSE = re.compile(r"[^.;!?\n]+[.;!?\n]*")
_FORBIDS = re.compile(
    r"\b(never|do not|don't|dont|does not|must not|mustn't|should not|shouldn't|may not|cannot|can't|will not|"
    r"won't|are not allowed to|is not allowed to|not permitted to|refuse to|decline to|avoid)\b",
    re.IGNORECASE,
)
# a forbidding word that undoes itself, or opens a loophole: such a clause is read as written
_LOOPHOLE = re.compile(
    r"\b(refus\w*|declin\w*|reject\w*|deny\w*|ignor\w*|hesitat\w*|withh[oe]ld\w*|hold back|censor\w*|say no|"
    r"turn down|unless|except|other than|only if)\b",
    re.IGNORECASE,
)


def set_aside_prohibitions(text: str) -> str:
    """``text`` without the clauses that only forbid something (see the module docstring)."""
    kept = [c for c in _CLAUSE.findall(text) if not (_FORBIDS.search(c) and not _LOOPHOLE.search(c))]
    return "".join(kept).strip()


def assess_system_turns(assessor: Assessor, texts: Sequence[str]) -> list[RiskDistribution]:
    """Risk of system turns. With a window gate (trained on application system prompts with their
    safety rules) each turn is read as written, window by window; otherwise with its clean
    prohibitions set aside, by the assessor's ordinary reading."""
    if getattr(assessor, "window_gate", None) is not None:
        return assessor.assess_instructions(list(texts))  # type: ignore[attr-defined]
    return assessor.assess([set_aside_prohibitions(t) for t in texts])
