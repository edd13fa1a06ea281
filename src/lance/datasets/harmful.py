"""Loaders for harmful-prompt sets: category-labelled (Do-Not-Answer, HarmBench,
JailbreakBench, StrongREJECT) and uncategorised (AdvBench, DangerousQA, HarmfulQA,
PAIR's custom behaviours). Every record is ``unsafe``."""

from __future__ import annotations

from lance.datasets._io import clean, make_record, read_csv, read_json
from lance.datasets.records import Record
from lance.taxonomy.maps import do_not_answer_key, map_label


def load_do_not_answer() -> list[Record]:
    """939 prompts; categories from the 61 specific harms (finer than the 12 harm types)."""
    out = []
    for i, r in enumerate(read_csv("do_not_answer", "do_not_answer_en.csv")):
        text = clean(r["question"])
        if text:
            harm = do_not_answer_key(r["specific_harms"])
            out.append(
                make_record(
                    "do_not_answer",
                    i,
                    text,
                    "unsafe",
                    map_label("do_not_answer", harm),
                    risk_area=r["risk_area"],
                    types_of_harm=r["types_of_harm"],
                    specific_harm=harm,
                    orig_id=r["id"],
                )
            )
    return out


def load_harmbench() -> list[Record]:
    """400 behaviours. Contextual ones get their context prepended, as HarmBench does;
    HarmBench's own val/test split is kept in ``meta['orig_split']``."""
    val_ids = {r["BehaviorID"] for r in read_csv("harmbench", "harmbench_behaviors_text_val.csv")}
    out = []
    for i, r in enumerate(read_csv("harmbench", "harmbench_behaviors_text_all.csv")):
        behavior, context = clean(r["Behavior"]), clean(r["ContextString"])
        text = f"{context}\n\n---\n\n{behavior}" if context else behavior
        if behavior:
            out.append(
                make_record(
                    "harmbench",
                    i,
                    text,
                    "unsafe",
                    map_label("harmbench", r["SemanticCategory"]),
                    semantic_category=r["SemanticCategory"],
                    functional_category=r["FunctionalCategory"],
                    tags=r["Tags"],
                    behavior_id=r["BehaviorID"],
                    orig_split="val" if r["BehaviorID"] in val_ids else "test",
                )
            )
    return out


def load_jbb_behaviors() -> list[Record]:
    """100 JailbreakBench harmful behaviours (``Goal`` is the prompt)."""
    out = []
    for i, r in enumerate(read_csv("jbb_behaviors", "harmful-behaviors.csv")):
        text = clean(r["Goal"])
        if text:
            out.append(
                make_record(
                    "jbb_behaviors",
                    i,
                    text,
                    "unsafe",
                    map_label("jbb_behaviors", r["Category"]),
                    category=r["Category"],
                    behavior=r["Behavior"],
                    origin=r["Source"],
                )
            )
    return out


def load_strongreject() -> list[Record]:
    """313 forbidden prompts in 6 categories."""
    out = []
    for i, r in enumerate(read_csv("strongreject", "strongreject_dataset.csv")):
        text = clean(r["forbidden_prompt"])
        if text:
            out.append(
                make_record(
                    "strongreject",
                    i,
                    text,
                    "unsafe",
                    map_label("strongreject", r["category"]),
                    category=r["category"],
                    origin=r["source"],
                )
            )
    return out


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
