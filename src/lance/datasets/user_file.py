"""An operator's own prompts as records: a JSONL or CSV file with a ``text`` column.

Optional columns: ``label`` (``safe`` / ``unsafe``; missing or empty means unlabelled: routes and
refusals are still measured, safety rates are not), ``category`` (taxonomy ids such as ``S2``,
comma-separated), ``id``. Every other column is kept in the record's ``meta``. A file that
cannot be read as prompts fails with the line that is wrong, before any model loads.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from lance.datasets._io import iter_jsonl_objects
from lance.datasets.records import Record, deterministic_split
from lance.errors import InputError

_LABELS = {"safe": "safe", "unsafe": "unsafe", "benign": "safe", "harmful": "unsafe", "0": "safe", "1": "unsafe"}
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def file_dataset_name(path: Path) -> str:
    """The dataset name a prompt file gets in a run: ``file:<stem>``."""
    return f"file:{_NAME.sub('_', Path(path).stem) or 'prompts'}"


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(f"prompt file not found: {path}")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(raw.splitlines())
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise InputError(f"{path}: the CSV header needs a 'text' column (found: {', '.join(reader.fieldnames or []) or 'none'})")
        return [(i, dict(row)) for i, row in enumerate(reader, start=2)]
    return list(iter_jsonl_objects(iter(raw.splitlines()), source=str(path)))


def load_prompt_file(path: Path | str) -> list[Record]:
    """The file's prompts as records (ids ``<stem>:<id or line>``), in file order."""
    path = Path(path)
    name = file_dataset_name(path)
    out: list[Record] = []
    seen: set[str] = set()
    for line, row in _rows(path):
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path}:{line}: missing or empty 'text'")
        raw_label = row.get("label")
        label = None
        if raw_label not in (None, ""):
            label = _LABELS.get(str(raw_label).strip().lower())
            if label is None:
                raise InputError(f"{path}:{line}: label {raw_label!r} is not safe or unsafe")
        cats = row.get("category") or ()
        if isinstance(cats, str):
            cats = tuple(c.strip() for c in cats.split(",") if c.strip())
        elif not isinstance(cats, (list, tuple)) or not all(isinstance(c, str) for c in cats):
            raise InputError(f"{path}:{line}: 'category' must be a string or a list of strings")
        rid = str(row.get("id") or line)
        if rid in seen:
            raise InputError(f"{path}:{line}: duplicate id {rid!r}")
        seen.add(rid)
        meta = {k: v for k, v in row.items() if k not in {"text", "label", "category", "id"}}
        out.append(Record(id=f"{name[5:]}:{rid}", text=text, label=label, categories=tuple(cats), source=name,
                          split=deterministic_split(text), meta=meta))
    if not out:
        raise InputError(f"{path} has no prompts")
    return out
