"""The dataset registry: what each set is, how it may be used, and the training mix."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lance.datasets import benign, harmful, mixed, moderation
from lance.datasets._io import text_key
from lance.datasets.records import Record, Split
from lance.errors import InputError

Role = Literal["train", "eval", "eval-only"]


class DatasetInfo(BaseModel):
    """What a dataset is and how LANCE may use it.

    ``role``: ``train`` = part of ``training_mix`` (its test split is held out);
    ``eval`` = not in the mix, used by benchmarks that may train on it under their
    own protocol (the openai_moderation recovery benchmark); ``eval-only`` = never
    trained on. ``license`` summarises the SOURCE.md license line.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    license: str
    role: Role
    noncommercial: bool = False


@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    loader: Callable[[], list[Record]]


def _e(
    name: str, loader: Callable[[], list[Record]], description: str, license: str, role: Role, nc: bool = False
) -> _Entry:
    return _Entry(DatasetInfo(name=name, description=description, license=license, role=role, noncommercial=nc), loader)


_REGISTRY: dict[str, _Entry] = {
    e.info.name: e
    for e in (
        _e(
            "xstest",
            mixed.load_xstest,
            "XSTest: 250 safe look-alikes + 200 unsafe contrasts (over-refusal)",
            "CC-BY-4.0 (prompts)",
            "eval-only",
        ),
        _e(
            "do_not_answer",
            harmful.load_do_not_answer,
            "Do-Not-Answer: 939 harmful prompts, 12 harm types / 61 harms",
            "Apache-2.0 (HF card; GitHub LICENSE unchecked)",
            "train",
        ),
        _e(
            "harmbench",
            harmful.load_harmbench,
            "HarmBench: 400 behaviours, 7 semantic categories",
            "MIT",
            "train",
        ),
        _e(
            "jbb_behaviors",
            harmful.load_jbb_behaviors,
            "JailbreakBench: 100 harmful behaviours, 10 categories",
            "MIT",
            "train",
        ),
        _e(
            "strongreject",
            harmful.load_strongreject,
            "StrongREJECT: 313 forbidden prompts, 6 categories",
            "unverified (commonly MIT, not checked)",
            "train",
        ),
        _e(
            "coconot",
            mixed.load_coconot,
            "CoCoNot: should-not-comply (safety subset unsafe) + benign contrast/preference prompts",
            "MIT",
            "train",
        ),
        _e(
            "advbench",
            harmful.load_advbench,
            "AdvBench: 520 harmful behaviours, no categories",
            "MIT",
            "train",
        ),
        _e(
            "dangerousqa",
            harmful.load_dangerousqa,
            "DangerousQA: 200 harmful questions, no categories",
            "Apache-2.0",
            "train",
        ),
        _e(
            "harmfulqa",
            harmful.load_harmfulqa,
            "HarmfulQA: 1,960 harmful questions by academic topic",
            "Apache-2.0",
            "train",
        ),
        _e(
            "pair_custom_behaviors",
            harmful.load_pair_custom_behaviors,
            "PAIR: 50 AdvBench behaviours with free-text tags",
            "MIT",
            "train",
        ),
        _e(
            "openai_moderation",
            moderation.load_openai_moderation,
            "OpenAI moderation: 1,680 texts, 8 multi-labels (recovery benchmark)",
            "MIT",
            "eval",
        ),
        _e(
            "ibm_cast",
            mixed.load_ibm_cast,
            "IBM CAST: benign prompts + 5 category rewrites; harmful/harmless prompts",
            "Apache-2.0; Alpaca-derived text CC BY-NC 4.0",
            "eval",
            True,
        ),
        _e(
            "refusal_direction",
            mixed.load_refusal_direction,
            "Arditi et al.: 871 harmful + 31,323 Alpaca benign instructions",
            "Apache-2.0; Alpaca text CC BY-NC 4.0",
            "train",
            True,
        ),
        _e(
            "alpaca_eval",
            benign.load_alpaca_eval,
            "AlpacaEval: 805 benign instructions",
            "Apache-2.0 repo; HF data CC BY-NC 4.0 (unchecked)",
            "train",
            True,
        ),
        _e(
            "mt_bench",
            benign.load_mt_bench,
            "MT-Bench: 80 benign questions (first turn)",
            "Apache-2.0",
            "train",
        ),
        _e(
            "vicuna_bench",
            benign.load_vicuna_bench,
            "Vicuna bench: 80 benign questions",
            "Apache-2.0",
            "train",
        ),
        _e(
            "arena_hard",
            benign.load_arena_hard,
            "Arena-Hard v0.1: 500 hard benign user prompts",
            "Apache-2.0",
            "train",
        ),
        _e(
            "self_instruct_user_oriented",
            benign.load_self_instruct,
            "Self-Instruct user-oriented: 252 benign instructions",
            "Apache-2.0",
            "train",
        ),
    )
}


def list_datasets() -> list[DatasetInfo]:
    """Every registered prompt dataset, in a fixed order."""
    return [e.info for e in _REGISTRY.values()]


def dataset_info(name: str) -> DatasetInfo:
    return _entry(name).info


def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}; valid names: {', '.join(_REGISTRY)}") from None


@cache
def _load(name: str) -> tuple[Record, ...]:
    return tuple(_entry(name).loader())


def load_dataset(name: str) -> list[Record]:
    """All prompt records of one dataset (parsed once per process)."""
    return list(_load(name))


def _coconot_unsafe(r: Record) -> bool:
    return r.label == "unsafe"


def _coconot_benign(r: Record) -> bool:
    return r.meta.get("should_comply") is True


#: (dataset, filter) in priority order: de-duplication keeps the first occurrence.
_MIX: tuple[tuple[str, Callable[[Record], bool] | None], ...] = (
    # category-labelled unsafe
    ("do_not_answer", None),
    ("harmbench", None),
    ("jbb_behaviors", None),
    ("strongreject", None),
    ("coconot", _coconot_unsafe),
    # uncategorised unsafe (refusal_direction's harmful val/test carry categories too)
    ("advbench", None),
    ("dangerousqa", None),
    ("harmfulqa", None),
    ("pair_custom_behaviors", None),
    ("refusal_direction", lambda r: r.label == "unsafe"),
    # benign
    ("refusal_direction", lambda r: r.label == "safe"),
    ("alpaca_eval", None),
    ("self_instruct_user_oriented", None),
    ("mt_bench", None),
    ("vicuna_bench", None),
    ("arena_hard", None),
    ("coconot", _coconot_benign),  # contrast + preference prompts: benign look-alikes
)

def request_first(r: Record) -> Record:
    """A HarmBench contextual behaviour with its request before its context.

    HarmBench puts a long, benign context (a Wikipedia section, a tweet, a personal profile)
    before the harmful request. Encoders read a text's opening (the gate trains on 64 tokens,
    assesses 256), so as given, such a record teaches "this benign context is unsafe".
    Other records are returned unchanged.
    """
    if r.source != "harmbench" or r.meta.get("functional_category") != "contextual":
        return r
    context, sep, request = r.text.rpartition(harmful.HARMBENCH_CONTEXT_SEP)
    if not sep or not request.strip():
        return r
    return r.model_copy(update={"text": f"{request}{harmful.HARMBENCH_CONTEXT_SEP}{context}", "meta": r.meta | {"request_first": True}})


def with_item_categories(r: Record) -> Record:
    """``r`` with the categories :mod:`lance.taxonomy.item_labels` gives its id added."""
    from lance.taxonomy.item_labels import ITEM_CATEGORIES

    extra = [c for c in ITEM_CATEGORIES.get(r.id, ()) if c not in r.categories]
    return r.model_copy(update={"categories": r.categories + tuple(extra)}) if extra else r


#: Never trained on: XSTest is the over-refusal test, openai_moderation the recovery benchmark.
EXCLUDED_FROM_TRAINING = frozenset({"xstest", "openai_moderation"})


def training_mix(
    seed: int = 0,
    *,
    splits: tuple[Split, ...] = ("train", "val"),
    max_per_part: int | None = 3000,
    noncommercial: bool = True,
    contextual_request_first: bool = False,
    item_categories: bool = False,
) -> list[Record]:
    """The label-enhancement model's training records, shuffled by ``seed``.

    Only ``splits`` are used (the test split is held out for evaluation). Each
    part of the mix is capped at ``max_per_part`` records, sampled by ``seed``, so
    the 25k Alpaca instructions do not swamp everything else (``None`` = no cap).
    Identical texts (after normalisation) are merged: the first record is kept,
    categories are united, and a text labelled unsafe anywhere stays unsafe
    (``meta['merged_from']`` lists the other ids). No XSTest or openai_moderation
    text is ever included. ``noncommercial=False`` leaves out the CC BY-NC sets
    (Alpaca-derived refusal_direction, alpaca_eval), e.g. for a checkpoint that ships.
    ``contextual_request_first`` puts HarmBench contextual behaviours' requests before their
    contexts (:func:`request_first`). ``item_categories`` adds the per-prompt categories of
    :mod:`lance.taxonomy.item_labels` (train/val prompts whose dataset label is mixed).
    """
    rng = random.Random(seed)
    # Texts of the evaluation-only sets are dropped even when another set carries
    # them too (DangerousQA shares two prompts with XSTest).
    banned = {text_key(r.text) for name in sorted(EXCLUDED_FROM_TRAINING) for r in _load(name)}
    merged: dict[str, Record] = {}
    for name, keep in _MIX:
        assert name not in EXCLUDED_FROM_TRAINING
        if not noncommercial and _REGISTRY[name].info.noncommercial:
            continue
        part = [
            r
            for r in _load(name)
            if r.split in splits and (keep is None or keep(r)) and text_key(r.text) not in banned
        ]
        if max_per_part is not None and len(part) > max_per_part:
            idx = sorted(rng.sample(range(len(part)), max_per_part))
            part = [part[i] for i in idx]
        if contextual_request_first:
            part = [request_first(r) for r in part]
        if item_categories:
            part = [with_item_categories(r) for r in part]
        for r in part:
            key = text_key(r.text)
            first = merged.get(key)
            if first is None:
                merged[key] = r
                continue
            cats = first.categories + tuple(c for c in r.categories if c not in first.categories)
            label = "unsafe" if "unsafe" in (first.label, r.label) else "safe"
            meta = first.meta | {"merged_from": [*first.meta.get("merged_from", []), r.id]}
            merged[key] = first.model_copy(update={"categories": cats, "label": label, "meta": meta})
    out = list(merged.values())
    rng.shuffle(out)
    return out
