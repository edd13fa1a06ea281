"""Small readers and the record factory shared by the dataset loaders."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lance.datasets.paths import dataset_dir
from lance.datasets.records import Label, Record, deterministic_split
from lance.errors import ConfigError, InputError

_NORM = re.compile(r"[\W_]+", re.UNICODE)


def text_key(text: str) -> str:
    """Normalised text used for de-duplication and for the split.

    Case, punctuation and spacing are ignored, so the same prompt copied into two
    datasets (AdvBench rows in StrongREJECT, HarmBench rows in refusal_direction)
    is one prompt.
    """
    return _NORM.sub(" ", text.casefold()).strip()


def make_record(
    source: str,
    row: int | str,
    text: str,
    label: Label,
    categories: tuple[str, ...] = (),
    **meta: Any,
) -> Record:
    """A record with id ``{source}:{row}``.

    The split hashes the normalised *text*, not the id, so a prompt that occurs in
    several datasets lands in the same split everywhere and a held-out test prompt
    never reaches training under another dataset's name.
    """
    return Record(
        id=f"{source}:{row}",
        text=text,
        label=label,
        categories=categories,
        source=source,
        split=deterministic_split(text_key(text)),
        meta=meta,
    )


def _path(name: str, file: str) -> Path:
    path = dataset_dir(name) / file
    if not path.is_file():
        raise ConfigError(f"data file {path} is missing; restore it from the source named in its SOURCE.md")
    return path


def read_csv(name: str, file: str) -> list[dict[str, str]]:
    with _path(name, file).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def read_json(name: str, file: str) -> Any:
    with _path(name, file).open(encoding="utf-8") as fh:
        return json.load(fh)


def read_jsonl(name: str, file: str) -> list[dict[str, Any]]:
    with _path(name, file).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def clean(text: str | None) -> str:
    """Strip a cell; ``""`` for missing values (the loaders skip empty texts)."""
    return (text or "").strip()


def iter_jsonl_objects(lines: Iterator[str], source: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
    """Parse JSON-lines, yielding ``(line_number, object)``; blank lines are skipped.

    A malformed line raises :class:`InputError` naming its 1-based line number (as
    ``<source>:<n>`` when ``source`` names the file).
    """
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{n}" if source else f"line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj
