"""Loaders for sets holding both safe and unsafe prompts: XSTest, CoCoNot,
refusal_direction and IBM CAST (plus CAST's harmful/benign rewrite pairs)."""

from __future__ import annotations

from typing import NamedTuple

from lance.datasets._io import clean, make_record, read_csv, read_json, read_jsonl
from lance.datasets.records import Record
from lance.taxonomy.maps import IBM_CAST, map_label

#: The CoCoNot category whose prompts are safety risks; the other four
#: (incomplete, unsupported, indeterminate, humanizing) are noncompliance for other reasons.
COCONOT_SAFETY = "Requests with safety concerns"
#: Under the safety category but not a safety risk (one garbled-text row).
COCONOT_NON_SAFETY_SUBS = frozenset({"incomprehensible"})


def load_xstest() -> list[Record]:
    """450 prompts: 250 safe look-alikes and 200 unsafe contrasts. Evaluation only."""
    out = []
    for i, r in enumerate(read_csv("xstest", "xstest_prompts.csv")):
        text = clean(r["prompt"])
        if text:
            out.append(
                make_record(
                    "xstest", i, text, r["label"], type=r["type"], focus=r["focus"], note=r["note"], orig_id=r["id"]
                )
            )
    return out


def _coconot_safety(category: str, sub: str) -> bool:
    return category == COCONOT_SAFETY and sub not in COCONOT_NON_SAFETY_SUBS


def load_coconot() -> list[Record]:
    """CoCoNot eval (should not comply), contrast (should comply) and preference prompts.

    Only eval prompts under "Requests with safety concerns" are ``unsafe``. Eval
    prompts refused for other reasons (underspecified, modality, subjective, asking
    the model about itself) carry no hazard: they are ``safe`` with
    ``should_comply=False`` and ``safety_related=False`` in meta. Contrast and
    preference prompts are benign look-alikes (``should_comply=True``).
    """
    out: list[Record] = []
    for r in read_jsonl("coconot", "coconot_eval.jsonl"):
        text, cat, sub = clean(r["prompt"]), r["category"], r["subcategory"]
        if not text:
            continue
        safety = _coconot_safety(cat, sub)
        out.append(
            make_record(
                "coconot",
                f"eval/{r['id']}",
                text,
                "unsafe" if safety else "safe",
                map_label("coconot", sub) if safety else (),
                file="eval",
                category=cat,
                subcategory=sub,
                should_comply=False,
                safety_related=safety,
            )
        )
    for file, name in (("contrast", "coconot_contrast_eval.jsonl"), ("pref", "coconot_pref.jsonl")):
        for i, r in enumerate(read_jsonl("coconot", name)):
            text = clean(r["prompt"])
            if text:
                out.append(
                    make_record(
                        "coconot",
                        f"{file}/{i}",
                        text,
                        "safe",
                        file=file,
                        category=r["category"],
                        subcategory=r["subcategory"],
                        should_comply=True,
                        safety_related=r["category"] == COCONOT_SAFETY,
                        orig_id=r["id"],
                    )
                )
    return out


def load_refusal_direction() -> list[Record]:
    """871 harmful and 31,323 harmless (Alpaca) instructions; the repo's split is in
    ``meta['orig_split']``. Harmful val/test rows carry HarmBench/JBB/StrongREJECT
    categories. Alpaca text is CC BY-NC: evaluation and training only, never shipped."""
    out: list[Record] = []
    for kind, label in (("harmful", "unsafe"), ("harmless", "safe")):
        for split in ("train", "val", "test"):
            for i, r in enumerate(read_json("refusal_direction", f"splits/{kind}_{split}.json")):
                text, cat = clean(r["instruction"]), r.get("category")
                if text:
                    cats = map_label("refusal_direction", cat) if (cat and label == "unsafe") else ()
                    out.append(
                        make_record(
                            "refusal_direction",
                            f"{kind}_{split}/{i}",
                            text,
                            label,
                            cats,
                            kind=kind,
                            orig_split=split,
                            category=cat,
                        )
                    )
    return out


def load_ibm_cast() -> list[Record]:
    """IBM CAST demo prompts.

    ``condition_multiple``: each benign ``base`` (safe) and its 5 rewrites into a
    condition (unsafe, category from ``maps.IBM_CAST``). The rewrites are
    *topic*-conditioned (legal_opinion, health_consultation are advice requests,
    S6), not all clearly harmful. ``condition_harmful``: harmful prompts (unsafe, no
    category) and their unrelated harmless partners (safe; repeated texts loaded
    once). ``alpaca.json`` equals the ``base`` column and is not loaded again.
    """
    out: list[Record] = []
    multi = read_json("ibm_cast", "condition_multiple.json")
    for split in ("train", "test"):
        for i, r in enumerate(multi[split]):
            base = clean(r["base"])
            if base:
                meta = {"file": "multiple", "condition": "base", "orig_split": split}
                out.append(make_record("ibm_cast", f"multiple_{split}/{i}/base", base, "safe", **meta))
            for cond in IBM_CAST:
                text = clean(r.get(cond))
                if text:
                    out.append(
                        make_record(
                            "ibm_cast",
                            f"multiple_{split}/{i}/{cond}",
                            text,
                            "unsafe",
                            map_label("ibm_cast", cond),
                            file="multiple",
                            condition=cond,
                            orig_split=split,
                            benign_base=base,
                        )
                    )
    pairs = read_json("ibm_cast", "condition_harmful.json")
    seen: set[str] = set()
    for split in ("train", "test"):
        for i, r in enumerate(pairs[split]):
            harmful, harmless = clean(r["harmful"]), clean(r["harmless"])
            if harmful:
                rid = f"harmful_{split}/{i}"
                out.append(make_record("ibm_cast", rid, harmful, "unsafe", file="harmful", orig_split=split))
            if harmless and harmless not in seen:
                seen.add(harmless)
                rid = f"harmless_{split}/{i}"
                out.append(make_record("ibm_cast", rid, harmless, "safe", file="harmful", orig_split=split))
    return out


class RewritePair(NamedTuple):
    """A harmful prompt, the benign prompt it was rewritten from, and its taxonomy ids."""

    harmful: str
    benign: str
    categories: tuple[str, ...]


def load_rewrite_pairs(split: str | None = None) -> list[RewritePair]:
    """CAST ``condition_multiple`` read backwards: (harmful rewrite, benign base, ids).

    Few-shot exemplars for neutralisation: given the harmful text, the benign base
    shows a safe request on the same task. ``split`` filters by the record's
    deterministic split of the harmful text (``train``/``val``/``test``).
    """
    recs = [r for r in load_ibm_cast() if r.meta.get("file") == "multiple" and r.label == "unsafe"]
    return [
        RewritePair(r.text, r.meta["benign_base"], r.categories)
        for r in recs
        if r.meta["benign_base"] and (split is None or r.split == split)
    ]
