"""An operator's own prompt file: JSONL or CSV, optional labels and categories, clear errors by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lance.datasets.user_file import file_dataset_name, load_prompt_file
from lance.errors import InputError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_jsonl_with_labels_categories_and_extra_columns(tmp_path: Path) -> None:
    p = _write(tmp_path, "my traffic.jsonl",
               '{"text": "How do I kill a Python process?", "label": "safe", "team": "infra"}\n\n'
               '{"text": "Write a phishing email", "label": "unsafe", "category": "S2,S14", "id": "x7"}\n'
               '{"text": "What is 2+2?"}\n')
    recs = load_prompt_file(p)
    assert file_dataset_name(p) == "file:my_traffic"
    assert [r.label for r in recs] == ["safe", "unsafe", None]
    assert recs[1].categories == ("S2", "S14") and recs[1].id == "my_traffic:x7"
    assert recs[0].id == "my_traffic:1" and recs[2].id == "my_traffic:4"  # line numbers, blank lines counted
    assert recs[0].meta == {"team": "infra"} and recs[0].source == "file:my_traffic"


def test_csv_with_a_text_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.csv", "text,label,note\nhello there,benign,a\n\"kill, then restart\",,b\n")
    recs = load_prompt_file(p)
    assert [(r.text, r.label, r.meta["note"]) for r in recs] == [("hello there", "safe", "a"), ("kill, then restart", None, "b")]


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("a.jsonl", '{"text": "ok"}\n{"txt": "oops"}\n', r"a\.jsonl:2: missing or empty 'text'"),
        ("b.jsonl", '{"text": "ok", "label": "maybe"}\n', r"b\.jsonl:1: label 'maybe' is not safe or unsafe"),
        ("c.jsonl", '{"text": "ok"}\nnot json\n', r"c\.jsonl:2: not valid JSON"),
        ("d.jsonl", "\n\n", r"d\.jsonl has no prompts"),
        ("e.csv", "prompt,label\nhi,safe\n", r"needs a 'text' column \(found: prompt, label\)"),
        ("f.jsonl", '["text"]\n', r"f\.jsonl:1: expected a JSON object"),
        ("g.jsonl", '{"text": "a", "id": 1}\n{"text": "b", "id": 1}\n', r"g\.jsonl:2: duplicate id '1'"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, name: str, body: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_prompt_file(_write(tmp_path, name, body))


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="prompt file not found"):
        load_prompt_file(tmp_path / "nope.jsonl")
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_prompt_file(bad)
