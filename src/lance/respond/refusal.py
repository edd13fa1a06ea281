"""Natural refusals: written for this request, naming what can't be helped with and offering a safe alternative.

The refiner model writes it when allowed (one call): LANCE's own model from the request,
a general LLM from a masked summary only (``refine.styles``). A ``refuse``-action category
(S4, sexual content with children) is never shown to any model, the writer included: its
refusal is constructed. Its draft is checked: length, a refusal and not an
answer, no offer of the declined procedure ("I can explain how napalm is made"), no run of ``MAX_QUOTED_RUN`` or more of the request's words (a refusal that
pastes the request back is a template with a slot), and not rigid by the slot-aware rigidity
(the request's words masked, what is left reads like a stock frame: "building a _ is a serious
crime so i won't _ _ i can explain how _ squads …"). That last check is the evaluation's own
rigidity judge, so LANCE's rigid-rejection figure is partly self-fulfilling; readers' labels of
fresh answers are the measure that is not. A draft that fails only that check is kept: if no
later draft passes, it is used, since it is still written for the request. The gate's risk is not a check here:
it scores a text's topic, and a refusal names its topic ("I won't explain how to make a
bomb" scores 0.97). A failed draft gets two more, sampled tries; after that, and on any
backend error, a short refusal is constructed from the taxonomy category and its safe
alternative; it names no part of the request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from lance.backends.base import ChatModel, GenerateParams, Usage
from lance.gradients.gradient import TextualGradient
from lance.gradients.render import request_summary
from lance.judges.rigidity import TEMPLATE_RIGIDITY, default_rigidity
from lance.judges.rigidity import quoted_run as longest_quoted_run
from lance.refine.styles import FewShotStyle, RefinerStyle
from lance.taxonomy import Category, Taxonomy

#: A refusal repeating this many consecutive words of the request is rejected.
MAX_QUOTED_RUN = 7
#: A draft must decline in so many words; the trained writer opens with the topic ("A scene featuring
#: torture is something I won't paint", "… isn't something I'll write", "I'll pass on that").
DECLINE_RE = re.compile(
    r"\b(?:can't|cannot|can not|won't|will not|unable|not able|rather not|prefer not|decline|not something|"
    r"n't something|not going to|not willing|off the table|off limits|I'll pass|pass on|steer clear|draw the line)\b",
    re.IGNORECASE,
)

_OPENERS = (
    "I can't help with requests involving {cat}.",
    "That's not something I can help with: it involves {cat}.",
    "I won't be able to help with this one, since it involves {cat}.",
    "I'm not able to help with that; it touches on {cat}.",
)
_OFFERS = (
    "If it's useful, I can go into {alt} instead.",
    "What I can do is talk about {alt}.",
    "I'd be glad to help with {alt}, though.",
    "Happy to cover {alt} if that helps.",
)


#: When the gate places the risk in no category (``RiskDistribution.placed``): what a refusal names.
UNPLACED = Category(
    id="unplaced",
    name="Potential harm",
    description="Risk the gate could not place in one category.",
    directive="Keep the underlying interest; offer the facts, the context and a balanced view instead.",
)


def _category(category_ids: Sequence[str], taxonomy: Taxonomy) -> Category:
    ids = [c for c in category_ids if c in taxonomy.ids and c != "safe"]
    return taxonomy[ids[0]] if ids else UNPLACED


def constructed_refusal(prompt: str, category_ids: Sequence[str], taxonomy: Taxonomy) -> str:
    """The fallback: the category and its safe alternative in one of a few phrasings, nothing of the request."""
    cat = _category(category_ids, taxonomy)
    h = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    return f"{_OPENERS[h % len(_OPENERS)].format(cat=cat.name.lower())} {_OFFERS[(h // 7) % len(_OFFERS)].format(alt=cat.alternative)}"


def unavailable_message(prompt: str) -> str:
    """What the user sees when the model behind LANCE failed: honest, specific, no blame on the request."""
    summary = request_summary(prompt, max_words=10)
    return (
        f'I couldn\'t answer "{summary}" just now: the language model behind me is not responding. '
        "Please try again in a moment."
    )


TEMPLATE_LIKE = "reads as a template"

#: An offer of the very procedure declined: "I can explain how to get a gram of coke from a store",
#: "… how napalm is made", "… how to cut a human's head". Caught when the object of "how to <verb>"
#: (or "how <x> is <made>") shares a content word with the request, or is a pronoun for it
#: ("… how to do it safely", "… how it's produced"): the only thing "it" can be after a decline.
_HOW_TO = re.compile(
    r"\bhow (?:to |you (?:can |could )?|one (?:can |could )?)?"
    r"(?:make|build|create|synthes\w+|cook|produce|manufacture|assemble|brew|grow|hack|steal|kill|poison|hide|"
    r"smuggle|forge|counterfeit|launder|buy|obtain|get|detonate|set off|plant|shoot|stab|strangle|break into|pick|"
    r"cut(?: off)?|chop(?: up)?|crush|dismember|butcher|dispose of|remove|choke|punch|hurt|harm|injure|"
    r"carry out|commit|bypass|disable)\b"
    r"((?:\W+[\w'’-]+){1,6})",
    re.IGNORECASE,
)
#: "do" and "use" are too common to read their objects' words; with a pronoun they can only mean the declined thing.
_HOW_DO_IT = re.compile(r"\bhow to (?:do|use|try|perform) (it|them|this|that)\b", re.IGNORECASE)
_MADE = r"(?:made|built|produced|synthesi[sz]ed|cooked|manufactured|assembled|done)"
_HOW_MADE = re.compile(
    rf"\bhow ((?:[\w'-]+\W+){{1,3}}?)(?:is|are) {_MADE}\b|\bhow (it|they|this|that)(?:'s|’s|'re|’re| is| are) {_MADE}\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"^\W*(?:it|them|this|that|one)\b", re.IGNORECASE)
_STOP = frozenset("this that with from your their them they what when where which into about have some someone "
                  "something people person anyone safe safely".split())


def _content_words(text: str) -> set[str]:
    """Content words, possessives and plural "s" dropped ("human's head" meets "a human")."""
    words = (re.sub(r"['’]s$", "", w) for w in re.findall(r"[a-z][a-z'’-]{3,}", text.lower()))
    return {w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w for w in words} - _STOP


def offers_the_procedure(text: str, request: str) -> bool:
    """The draft offers to explain how to do (or make) the thing the request asked for."""
    asked = _content_words(request)
    # only the offering clauses: "I won't explain how to make methamphetamine" names what it declines
    clauses = [c for c in re.split(r"(?<=[.!?;])\s+|,\s*(?:but|and|so)\s+", text) if not DECLINE_RE.search(c)]
    objects = [g for c in clauses for rx in (_HOW_TO, _HOW_DO_IT, _HOW_MADE) for m in rx.finditer(c) for g in m.groups() if g]
    return any(_PRONOUN.match(o) or _content_words(o) & asked for o in objects)


def refusal_problem(text: str, request: str) -> str | None:
    """Why a drafted refusal cannot be used (``None`` when it can)."""
    words = text.split()
    if not 6 <= len(words) <= 90:
        return "length"
    if re.search(r"(?m)^\s*(?:step\s*\d|\d+[.)])", text, re.IGNORECASE):
        return "answer"
    if not DECLINE_RE.search(text):
        return "not a refusal"
    if longest_quoted_run(text, request) >= MAX_QUOTED_RUN:
        return "quotes the request"
    if offers_the_procedure(text, request):
        return "offers what it declines"
    if default_rigidity().score(request, text) >= TEMPLATE_RIGIDITY:
        return TEMPLATE_LIKE
    return None


def write_refusal(
    prompt: str,
    category_ids: Sequence[str],
    taxonomy: Taxonomy,
    *,
    llm: ChatModel | None = None,
    style: RefinerStyle | None = None,
    gradient: TextualGradient | None = None,
    params: GenerateParams | None = None,
    attempts: int = 3,
) -> tuple[str, bool, Usage, str | None]:
    """``(refusal, written_by_model, usage, error)``: the model's first draft that passes the checks, else constructed.

    The first draft is greedy, later ones sampled at ``params.temperature``.
    """
    fallback = constructed_refusal(prompt, category_ids, taxonomy)
    cat = _category(category_ids, taxonomy)
    if llm is None or cat.action == "refuse":
        # a refuse-action category (S4) reaches no model, not even the writer: asked to decline a request
        # for sexual content with a child, the 270M writer has offered a "story about a young girl who's
        # attracted to a man" (docs/pipeline.md)
        return fallback, False, Usage(), None
    msgs = (style or FewShotStyle()).refusal_messages(prompt, gradient, cat)
    params = params or GenerateParams(temperature=0.7, max_tokens=80)
    usage = Usage()
    framed: str | None = None  # a draft whose only fault is a stock frame: still better than the constructed one
    for i in range(attempts):
        p = params.model_copy(update={"temperature": 0.0}) if i == 0 else params.model_copy(update={"seed": (params.seed or 0) + i})
        try:
            out = llm.generate(msgs, p)
        except Exception as exc:  # noqa: BLE001 - any backend failure ends in the constructed refusal
            return framed or fallback, framed is not None, usage, f"{type(exc).__name__}: {exc}"
        usage = usage + out.usage
        text = " ".join(out.text.split())
        problem = refusal_problem(text, prompt)
        if problem is None:
            return text, True, usage, None
        if problem == TEMPLATE_LIKE and framed is None:
            framed = text
    return framed or fallback, framed is not None, usage, None
