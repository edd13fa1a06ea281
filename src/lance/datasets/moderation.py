"""OpenAI moderation evaluation set: 1,680 texts, 8 binary labels, some missing.

It is the label-enhancement *recovery* benchmark: train on a single-positive view,
score against the full labels. ``meta`` therefore keeps the raw labels and the
taxonomy ids known to be absent (``negative_categories``).
"""

from __future__ import annotations

from lance.datasets._io import clean, make_record, read_jsonl
from lance.datasets.records import Record
from lance.taxonomy.maps import OPENAI_MODERATION, map_label

NAME = "openai_moderation"
LABELS = tuple(OPENAI_MODERATION)


def load_openai_moderation() -> list[Record]:
    """One record per text; unsafe when any label is 1.

    A text with no positive label is safe (its known labels are all 0; a missing
    label means OpenAI did not annotate it). 821 of the 1,158 safe texts miss some
    labels (``fully_labelled=False``); a benchmark that needs certain negatives
    should use ``negative_categories`` or keep only fully labelled rows. ``negative_categories`` lists the ids
    whose every source label is known and 0, e.g. S12 when ``S == 0``.
    """
    out: list[Record] = []
    for i, row in enumerate(read_jsonl(NAME, "samples-1680.jsonl")):
        text = clean(row.get("prompt"))
        if not text:
            continue
        raw = {k: int(row[k]) for k in LABELS if k in row and row[k] is not None}
        extra = sorted(k for k in row if k != "prompt" and k not in OPENAI_MODERATION)
        positives = [k for k in LABELS if raw.get(k) == 1]
        cats: list[str] = []
        for k in positives:
            cats += [c for c in map_label(NAME, k) if c not in cats]
        negatives = []
        for cid in sorted({c for ids in OPENAI_MODERATION.values() for c in ids}):
            sources = [k for k, ids in OPENAI_MODERATION.items() if cid in ids]
            if cid not in cats and all(raw.get(k) == 0 for k in sources):
                negatives.append(cid)
        out.append(
            make_record(
                NAME,
                i,
                text,
                "unsafe" if positives else "safe",
                tuple(cats),
                labels=raw,
                positive_labels=positives,
                unknown_labels=[k for k in LABELS if k not in raw],
                fully_labelled=len(raw) == len(LABELS),
                unmapped_keys=extra,
                negative_categories=negatives,
            )
        )
    return out
