"""Loaders for harmful-prompt sets: category-labelled (Do-Not-Answer, HarmBench,
JailbreakBench, StrongREJECT) and uncategorised (AdvBench, DangerousQA, HarmfulQA,
PAIR's custom behaviours). Every record is ``unsafe``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lance.datasets._io import clean, make_record, read_csv, read_json
from lance.datasets.records import Record
from lance.taxonomy.maps import do_not_answer_key, map_label


def _labelled_csv(
    name: str,
    file: str,
    text_of: Callable[[dict[str, str]], str],
    label_of: Callable[[dict[str, str]], str],
    meta_of: Callable[[dict[str, str]], dict[str, Any]],
) -> list[Record]:
    """One unsafe record per CSV row with a non-empty prompt; ids count every row, so they
    stay stable when a row's text is empty. ``label_of`` gives the source label to map."""
    out = []
    for i, r in enumerate(read_csv(name, file)):
        text = text_of(r)
        if text:
            out.append(make_record(name, i, text, "unsafe", map_label(name, label_of(r)), **meta_of(r)))
    return out


def load_do_not_answer() -> list[Record]:
    """939 prompts; categories from the 61 specific harms (finer than the 12 harm types)."""
    return _labelled_csv(
        "do_not_answer",
        "do_not_answer_en.csv",
        lambda r: clean(r["question"]),
        lambda r: do_not_answer_key(r["specific_harms"]),
        lambda r: {
            "risk_area": r["risk_area"],
            "types_of_harm": r["types_of_harm"],
            "specific_harm": do_not_answer_key(r["specific_harms"]),
            "orig_id": r["id"],
        },
    )


#: HarmBench's separator between a contextual behaviour's context and its request.
HARMBENCH_CONTEXT_SEP = "\n\n---\n\n"


def load_harmbench() -> list[Record]:
    """400 behaviours. Contextual ones get their context prepended, as HarmBench does;
    HarmBench's own val/test split is kept in ``meta['orig_split']``."""
    val_ids = {r["BehaviorID"] for r in read_csv("harmbench", "harmbench_behaviors_text_val.csv")}

    def text_of(r: dict[str, str]) -> str:
        behavior, context = clean(r["Behavior"]), clean(r["ContextString"])
        if not behavior:
            return ""
        return f"{context}{HARMBENCH_CONTEXT_SEP}{behavior}" if context else behavior

    return _labelled_csv(
        "harmbench",
        "harmbench_behaviors_text_all.csv",
        text_of,
        lambda r: r["SemanticCategory"],
        lambda r: {
            "semantic_category": r["SemanticCategory"],
            "functional_category": r["FunctionalCategory"],
            "tags": r["Tags"],
            "behavior_id": r["BehaviorID"],
            "orig_split": "val" if r["BehaviorID"] in val_ids else "test",
        },
    )


def load_jbb_behaviors() -> list[Record]:
    """100 JailbreakBench harmful behaviours (``Goal`` is the prompt)."""
    return _labelled_csv(
        "jbb_behaviors",
        "harmful-behaviors.csv",
        lambda r: clean(r["Goal"]),
        lambda r: r["Category"],
        lambda r: {"category": r["Category"], "behavior": r["Behavior"], "origin": r["Source"]},
    )


def load_strongreject() -> list[Record]:
    """313 forbidden prompts in 6 categories."""
    return _labelled_csv(
        "strongreject",
        "strongreject_dataset.csv",
        lambda r: clean(r["forbidden_prompt"]),
        lambda r: r["category"],
        lambda r: {"category": r["category"], "origin": r["source"]},
    )


def load_advbench() -> list[Record]:
    """520 harmful behaviours. ``harmful_strings.csv`` holds target *outputs*, not
    requests, so it is not loaded as prompts."""
    rows = read_csv("advbench", "harmful_behaviors.csv")
    return [make_record("advbench", i, clean(r["goal"]), "unsafe") for i, r in enumerate(rows) if clean(r["goal"])]


def load_dangerousqa() -> list[Record]:
    """200 harmful questions, no categories."""
    rows = read_json("dangerousqa", "dangerousqa.json")
    return [make_record("dangerousqa", i, clean(q), "unsafe") for i, q in enumerate(rows) if clean(q)]


def load_harmfulqa() -> list[Record]:
    """1,960 harmful questions; topic/subtopic are academic subjects, not harm types."""
    out: list[Record] = []
    for topic, subs in read_json("harmfulqa", "harmfulqa.json").items():
        for sub, questions in subs.items():
            for q in questions:
                if clean(q):
                    out.append(make_record("harmfulqa", len(out), clean(q), "unsafe", topic=topic, subtopic=sub))
    return out


def load_pair_custom_behaviors() -> list[Record]:
    """50 AdvBench behaviours used by PAIR/TAP; free-text tags kept in meta, no categories."""
    out = []
    for i, r in enumerate(read_csv("pair_custom_behaviors", "harmful_behaviors_custom.csv")):
        text = clean(r["goal"])
        if text:
            tags = [t.strip() for t in r["category"].split(",") if t.strip()]
            out.append(
                make_record("pair_custom_behaviors", i, text, "unsafe", tags=tags, advbench_index=r["Original index"])
            )
    return out
