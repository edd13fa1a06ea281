"""The run directory's results file: append-only JSONL that survives ``kill -9``.

Each finished (dataset, item, method) is one line, written with a single ``write``,
flushed and fsynced before the next item is counted as done. A crash can only tear the
last line; on reopening, the torn tail is cut off (it was never counted) and the complete
lines are the set of finished keys, so a restart neither loses nor repeats an item. The
errors log is cut the same way before each append, so a torn error line never ends up in the
middle of the file (where ``read_results`` rightly refuses it and ``lance report`` would fail).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lance.errors import InputError

RESULTS = "results.jsonl"
ERRORS = "errors.jsonl"
MANIFEST = "run.json"

Key = tuple[str, str, str]


def record_key(rec: dict[str, Any]) -> Key:
    return (str(rec["dataset"]), str(rec["item_id"]), str(rec["method"]))


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every complete record in ``path``; a torn last line is ignored, a torn middle line is an error."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # the unterminated tail of an interrupted write
                break
            raise InputError(f"{path} line {i + 1} is not valid JSON; the file was edited or corrupted") from None
    return out


class ResultsFile:
    """Appends records durably and knows which keys are already done."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self.records = read_results(self.path)
        self.done: set[Key] = {record_key(r) for r in self.records}
        self._fh = self.path.open("ab")

    def _repair(self) -> None:
        cut_torn_tail(self.path)

    def append(self, rec: dict[str, Any]) -> None:
        key = record_key(rec)
        if key in self.done:
            return
        line = (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        self._fh.write(line)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done.add(key)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cut_torn_tail(path: Path) -> bool:
    """Cut an unterminated last line (a write a kill interrupted) so that the next append starts on
    a fresh line instead of gluing itself to the torn one; ``True`` when something was cut."""
    if not path.exists():
        return False
    with path.open("rb+") as fh:
        if fh.seek(0, os.SEEK_END) == 0:
            return False
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return False
        fh.seek(0)
        cut = fh.read().rfind(b"\n") + 1  # 0 when the only line is torn
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
        return True


def append_jsonl(path: Path, rec: dict[str, Any]) -> None:
    """Append one line durably (used for the errors log), after cutting a torn tail a kill left."""
    cut_torn_tail(Path(path))
    with Path(path).open("ab") as fh:
        fh.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
