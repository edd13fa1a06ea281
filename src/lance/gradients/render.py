"""The gradient as text for the refiner: short and concrete, so small models can use it."""

from __future__ import annotations

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
