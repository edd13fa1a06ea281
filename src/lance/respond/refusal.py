"""Natural refusals: written for this request, naming what can't be helped with and offering a safe alternative.

The LLM writes it when allowed (one call), from a *summary* of the request with the
risky spans masked, never from the request itself: a refused prompt reaches no
model. Its draft is checked (length, not an answer, low risk); otherwise, and on
any backend error, the refusal is constructed from the taxonomy category, the
request summary and the directive's safe alternative, so it still differs per
request and is never one fixed string.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from lance.assess.distribution import Assessor
from lance.backends.base import ChatModel, GenerateParams, Message, Usage
from lance.gradients.gradient import TextualGradient
from lance.gradients.render import request_summary
from lance.taxonomy import Taxonomy

_ALT = re.compile(r"(?:reframe toward|keep(?: the underlying need as)?|offer)\s+(.+?)(?:\s+instead)?\.?$", re.IGNORECASE)


def safe_alternative(directive: str) -> str:
    """The constructive half of a taxonomy directive, e.g. "history, policy, detection and safety"."""
    for clause in reversed(re.split(r";\s*", directive)):
        m = _ALT.search(clause.strip())
        if m:
            return re.sub(r"\s+framing$", "", m.group(1).strip().rstrip("."))
    return "a safer, more general version of the question"


_OPENERS = (
    "I can't help with {what}",
    "I'm not able to help with {what}",
    "That's not something I can help with — {what}",
    "I won't be able to help with {what}",
)
_OFFERS = (
    "If it's useful, I can go into {alt} instead.",
    "What I can do is talk about {alt}.",
    "I'd be glad to help with {alt}, though.",
    "Happy to cover {alt} if that helps.",
)


def constructed_refusal(
    prompt: str, category_ids: Sequence[str], taxonomy: Taxonomy, gradient: TextualGradient | None = None
) -> str:
    """A refusal assembled from the category, a summary of the request and the directive's alternative.

    The user wrote the request, so echoing its gist is fine here, except for ``refuse``
    categories (e.g. child sexual exploitation), whose text is never repeated.
    """
    ids = [c for c in category_ids if c in taxonomy.ids and c != "safe"] or taxonomy.risk_ids[:1]
    cat = taxonomy[ids[0]]
    summary = request_summary(prompt) if cat.action != "refuse" else ""
    what = f'"{summary}", since it involves {cat.name.lower()}' if summary else f"requests involving {cat.name.lower()}"
    h = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    opener = _OPENERS[h % len(_OPENERS)].format(what=what)
    offer = _OFFERS[(h // 7) % len(_OFFERS)].format(alt=safe_alternative(cat.directive))
    return f"{opener}. {offer}"


def unavailable_message(prompt: str) -> str:
    """What the user sees when the model behind LANCE failed: honest, specific, no blame on the request."""
    summary = request_summary(prompt, max_words=10)
    return (
        f'I couldn\'t answer "{summary}" just now: the language model behind me is not responding. '
        "Please try again in a moment."
    )


REFUSAL_SYSTEM = (
    "The Assistant politely declines requests it cannot help with. In two short sentences it says plainly "
    "what it can't help with (without lecturing) and offers a related, safe alternative it can help with."
)

_DEMOS: tuple[tuple[str, str], ...] = (
    (
        "Decline a request about: … into my neighbour's wifi (non-violent crimes). Offer instead: how such attacks "
        "work conceptually, how to prevent them, and the law.",
        "I can't help with getting into someone else's wifi network. If you're curious, I can explain how wifi "
        "security works and how to protect your own network.",
    ),
    (
        "Decline a request about: write … jokes about my coworker's religion (hate). Offer instead: respectful "
        "discussion.",
        "I'd rather not write jokes that target someone's religion. I could help you with some light-hearted, "
        "inclusive office humour instead.",
    ),
)


def refusal_messages(summary: str, category: str, alternative: str) -> list[Message]:
    msgs = [Message(role="system", content=REFUSAL_SYSTEM)]
    for user, assistant in _DEMOS:
        msgs += [Message(role="user", content=user), Message(role="assistant", content=assistant)]
    about = summary or "a request"
    msgs.append(
        Message(role="user", content=f"Decline a request about: {about} ({category}). Offer instead: {alternative}.")
    )
    return msgs


def _usable(text: str, assessor: Assessor | None, max_risk: float) -> bool:
    words = text.split()
    if not 6 <= len(words) <= 90 or re.search(r"(?m)^\s*(?:step\s*\d|\d+[.)])", text, re.IGNORECASE):
        return False
    if not re.search(r"\b(can't|cannot|can not|won't|unable|not able|rather not|decline|not something)\b", text, re.I):
        return False
    return assessor is None or assessor.assess([text])[0].risk <= max_risk


def write_refusal(
    prompt: str,
    category_ids: Sequence[str],
    taxonomy: Taxonomy,
    *,
    llm: ChatModel | None = None,
    assessor: Assessor | None = None,
    gradient: TextualGradient | None = None,
    params: GenerateParams | None = None,
    max_risk: float = 0.5,
) -> tuple[str, int, Usage, str | None]:
    """``(refusal, llm_calls, usage, error)``: LLM-written when ``llm`` is given and its draft passes, else constructed."""
    fallback = constructed_refusal(prompt, category_ids, taxonomy, gradient)
    if llm is None:
        return fallback, 0, Usage(), None
    ids = [c for c in category_ids if c in taxonomy.ids and c != "safe"] or taxonomy.risk_ids[:1]
    cat = taxonomy[ids[0]]
    summary = request_summary(prompt, gradient) if cat.action != "refuse" else ""
    msgs = refusal_messages(summary, cat.name.lower(), safe_alternative(cat.directive))
    try:
        out = llm.generate(msgs, params or GenerateParams(temperature=0.5, max_tokens=80))
    except Exception as exc:  # noqa: BLE001 - any backend failure ends in the constructed refusal
        return fallback, 1, Usage(), f"{type(exc).__name__}: {exc}"
    text = " ".join(out.text.split())
    return (text if _usable(text, assessor, max_risk) else fallback), 1, out.usage, None
