"""The gradient as text for the refiner: short and concrete, so small models can use it."""

from __future__ import annotations

import re

from lance.gradients.gradient import TextualGradient


def render_gradient(g: TextualGradient) -> str:
    """Multi-line feedback: per category, its weight, the risky spans and the directive."""
    if g.empty:
        return "No risk found: leave the request as it is."
    lines = [f"Overall risk {g.risk:.2f}. Fix each problem below; keep everything else."]
    for c in g.categories:
        where = ", ".join(f'"{s.text}"' for s in c.spans) or "the request as a whole"
        lines.append(f"- {c.name} ({c.id}, weight {c.weight:.2f}) carried by {where}. {c.directive}")
        if c.critique:
            lines.append(f"  Critique: {c.critique}")
    return "\n".join(lines)


def render_compact(g: TextualGradient) -> str:
    """One line for a completion-style few-shot prompt: risky spans and the first directive clause."""
    if g.empty:
        return "none"
    parts = []
    for c in g.categories:
        where = ", ".join(f'"{s.text}"' for s in c.spans)
        head = c.directive.split(";")[0].rstrip(".")
        parts.append(f"{c.name.lower()}{' in ' + where if where else ''} ({head.lower()})")
    return "; ".join(parts)


_LEAD = re.compile(
    r"^(?:please\s+|hey,?\s+|hi,?\s+)?(?:can|could|would|will) you(?: please)?\s+|^(?:please\s+)|"
    r"^(?:tell me |explain |show me )?how (?:do|can|could|would|should) (?:i|we|you|one)\s+|^i (?:want|need) to\s+",
    re.IGNORECASE,
)


def request_summary(prompt: str, gradient: TextualGradient | None = None, max_words: int = 12) -> str:
    """The gist of the request in a few words; risky spans masked when a gradient is given (for LLM input)."""
    text = _LEAD.sub("", " ".join(prompt.split()).strip(" ?.!"))
    if gradient is not None:
        for span in sorted(gradient.spans(), key=len, reverse=True):
            text = text.replace(span, "…")
    words = text.split()
    summary = " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")
    return re.sub(r"(…\s*)+", "… ", summary).strip(" ?.!")
