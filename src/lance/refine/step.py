"""One refinement step: a single refiner call, its output cleaned and validated.

Validation is strict because a small refiner often fails in recognisable ways:
it echoes the request, answers it, refuses it, runs out of tokens, or writes
noise. A rejected rewrite costs one call and is never assessed or forwarded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lance.backends.base import ChatModel, Completion, GenerateParams
from lance.gradients.gradient import TextualGradient
from lance.gradients.render import render_compact
from lance.refine.prompts import CLOSE, OPEN
from lance.refine.styles import FewShotStyle, RefinerStyle
from lance.judges.base import RefusalCheck, is_refusal
from lance.judges.lexical import TemplateRefusalDetector

_LABEL = re.compile(
    r"^\s*(?:rewritten request|rewrite|safe rewrite|new request|safe request|request|assistant|answer)\s*[:\-]\s*",
    re.IGNORECASE,
)
_ANSWER = re.compile(
    r"^\s*(?:sure\b|certainly\b|of course\b|here(?:'s| is| are)\b|step\s*1\b|1[.)]\s|first,|to (?:make|build|do) (?:this|it)\b|"
    r"yes\b|okay\b|ok\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class StepOutput:
    """A refiner call's cleaned text and, when it is unusable, why."""

    text: str
    invalid: str | None
    completion: Completion


def clean_rewrite(raw: str) -> str:
    """First line, without a leading label, wrapping quotes or leaked delimiters."""
    text = raw.strip().split("\n")[0].strip()
    text = _LABEL.sub("", text)
    text = text.replace(OPEN, " ").replace(CLOSE, " ").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”`":
        text = text[1:-1].strip()
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _shingles(toks: list[str], n: int = 4) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def validate_rewrite(
    text: str,
    original: str,
    *,
    finish_reason: str | None = None,
    detector: RefusalCheck | None = None,
    demos: Sequence[tuple[str, str, str]] = (),
    problem: str = "",
) -> str | None:
    """Why ``text`` is not a usable rewrite of ``original`` (``None`` when it is)."""
    toks = _tokens(text)
    if len(toks) < 3:
        return "empty"
    if finish_reason == "length":
        return "truncated"
    orig = _tokens(original)
    if toks == orig or (set(toks) == set(orig)):
        return "echoed"
    inter = len(set(toks) & set(orig))
    if inter / max(1, len(set(toks) | set(orig))) > 0.85:
        return "echoed"
    letters = sum(ch.isalpha() for ch in text)
    if letters / max(1, len(text)) < 0.6:
        return "garbled"
    if max(toks.count(t) for t in set(toks)) > max(3, len(toks) // 3):
        return "garbled"
    low = text.lower()
    if "rewrite this request" in low or "problem:" in low or "request rewriter" in low:
        return "leaked instructions"
    if problem and _shingles(toks) & (_shingles(_tokens(problem)) - _shingles(orig)):
        return "leaked instructions"  # copied the gradient's directive into the request
    if detector is not None and is_refusal(detector, original, text):
        return "refusal"
    if _ANSWER.search(text) or len(toks) > 3 * len(orig) + 30:
        return "answer"
    for hazardous, neutral, _ in demos:
        dt = set(_tokens(hazardous)) | set(_tokens(neutral))
        if dt and len(set(toks) & dt) / len(set(toks)) > 0.8 and len(set(toks) & set(orig)) / len(set(toks)) < 0.5:
            return "copied a demonstration"
    return None


def refine_once(
    refiner: ChatModel,
    prompt: str,
    gradient: TextualGradient,
    demos: Sequence[tuple[str, str, str]],
    params: GenerateParams,
    *,
    original: str | None = None,
    detector: RefusalCheck | None = None,
    style: RefinerStyle | None = None,
    index: int = 0,
) -> StepOutput:
    """One refiner call (the ``index``-th candidate) rewriting ``prompt`` along ``gradient``; backend errors propagate."""
    style = style or FewShotStyle()
    problem = render_compact(gradient)
    out = refiner.generate(style.rewrite_messages(prompt, problem, demos), style.rewrite_params(params, index))
    text = clean_rewrite(out.text)
    why = validate_rewrite(
        text,
        original if original is not None else prompt,
        finish_reason=out.finish_reason,
        detector=detector or TemplateRefusalDetector(),
        demos=demos,
        problem=problem,
    )
    if why is None and original is not None and original != prompt:
        # Echoing the current (already refined) prompt is also no progress.
        why = "echoed" if validate_rewrite(text, prompt) == "echoed" else None
    return StepOutput(text=text, invalid=why, completion=out)
