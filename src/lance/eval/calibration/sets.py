"""The benign and unsafe prompts a calibration runs on: prompt files or built-in dataset names.

A source is a prompt file (JSONL or CSV, read by :func:`lance.datasets.user_file.load_prompt_file`)
or a built-in name (``lance data list``, or ``harmful``: the test-split mix ``lance eval`` uses).
The benign set keeps prompts labelled ``safe``, the unsafe set those labelled ``unsafe``; a
file's unlabelled prompts take the role the file was given. Built-in sets default to the
prompts the packaged gate never trained on (``held-out``): the test split of a set in the
training mix, every prompt of a set outside it (XSTest, openai_moderation, IBM CAST).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

from lance.datasets import Record, dataset_info
from lance.datasets.user_file import load_prompt_file
from lance.errors import InputError
from lance.eval.items import HARMFUL, check_dataset, load_items

Role = Literal["benign", "unsafe"]
#: ``held-out``: what the packaged gate never trained on; ``test``: the test split; ``all``: every prompt.
SplitChoice = Literal["held-out", "test", "all"]
SPLIT_CHOICES: tuple[str, ...] = get_args(SplitChoice)
_WANTED = {"benign": "safe", "unsafe": "unsafe"}
_FILE_SUFFIXES = {".jsonl", ".json", ".csv", ".txt"}


class PromptSet(BaseModel):
    """The prompts of one role, with where they came from (for the printout and the YAML header)."""

    role: Role
    records: list[Record]
    #: One line per source: ``alpaca_eval (held-out: 174 of 805)``.
    sources: list[str]


def is_file_source(source: str) -> bool:
    """A path (has a separator or a prompt-file suffix, or exists), not a dataset name."""
    p = Path(source)
    return p.suffix.lower() in _FILE_SUFFIXES or "/" in source or "\\" in source or p.exists()


def _keep_split(name: str, r: Record, split: SplitChoice) -> bool:
    if split == "all" or name == HARMFUL:  # ``harmful`` is drawn from the test split already
        return True
    if split == "test":
        return r.split == "test"
    return r.split == "test" or dataset_info(name).role != "train"


def _from_source(source: str, role: Role, split: SplitChoice) -> tuple[list[Record], str]:
    wanted = _WANTED[role]
    if is_file_source(source):
        recs = load_prompt_file(source)
        kept = [r for r in recs if r.label in (None, wanted)]
        note = f"{source} ({len(kept)} of {len(recs)}: unlabelled or {wanted})" if len(kept) < len(recs) else source
        if not kept:
            raise InputError(f"{source} has no {wanted} or unlabelled prompts to use as the {role} set")
        return kept, note
    check_dataset(source)
    recs = load_items(source)
    kept = [r for r in recs if r.label == wanted and _keep_split(source, r, split)]
    if not kept:
        raise InputError(f"dataset {source!r} has no {wanted} prompts in split {split!r}; "
                         f"pick another set{'' if split == 'all' else ' or --split all'}")
    return kept, f"{source} ({split}: {len(kept)} of {len(recs)})"


def load_prompt_set(sources: Sequence[str], role: Role, split: SplitChoice = "held-out") -> PromptSet:
    """The union of ``sources`` for ``role``; every source is checked before any is used."""
    if split not in SPLIT_CHOICES:
        raise InputError(f"--split must be one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    if not sources:
        raise InputError(f"no {role} prompts given: pass --{role} with a prompt file or a dataset name")
    records: list[Record] = []
    notes: list[str] = []
    for source in sources:
        recs, note = _from_source(source, role, split)
        records += recs
        notes.append(note)
    return PromptSet(role=role, records=records, sources=notes)


def halves(records: Sequence[Record], seed: int = 0) -> tuple[list[Record], list[Record]]:
    """A seeded split into two halves (the first one larger by at most one), each in input order."""
    idx = list(range(len(records)))
    random.Random(seed).shuffle(idx)
    first = set(idx[: (len(idx) + 1) // 2])
    return [r for i, r in enumerate(records) if i in first], [r for i, r in enumerate(records) if i not in first]
