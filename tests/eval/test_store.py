"""The results file: durable appends, torn-tail repair, no duplicates (real files, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lance.errors import ConfigError, InputError
from lance.eval.manifest import check_and_merge
from lance.eval.store import ResultsFile, append_jsonl, read_results


def _rec(i: int, method: str = "vanilla") -> dict:
    return {"dataset": "xstest", "item_id": f"xstest:{i}", "method": method, "response": f"answer {i}"}


def test_append_and_reopen_knows_done_keys(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with ResultsFile(path) as rf:
        rf.append(_rec(1))
        rf.append(_rec(2))
        rf.append(_rec(1))  # duplicate key: ignored
    with ResultsFile(path) as rf:
        assert rf.done == {("xstest", "xstest:1", "vanilla"), ("xstest", "xstest:2", "vanilla")}
    assert len(path.read_text().splitlines()) == 2


def test_torn_last_line_is_cut_and_next_append_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    good = json.dumps(_rec(1)) + "\n"
    path.write_text(good + json.dumps(_rec(2))[:17])  # a write interrupted mid-line
    assert [r["item_id"] for r in read_results(path)] == ["xstest:1"]
    with ResultsFile(path) as rf:
        assert rf.done == {("xstest", "xstest:1", "vanilla")}
        rf.append(_rec(2))
    assert [r["item_id"] for r in read_results(path)] == ["xstest:1", "xstest:2"]
    assert path.read_text().endswith("\n")


def test_only_line_torn(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"dataset": "xs')
    with ResultsFile(path) as rf:
        assert rf.done == set()
    assert path.read_text() == ""


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(_rec(1)) + "\nnot json\n" + json.dumps(_rec(2)) + "\n")
    with pytest.raises(InputError, match="line 2"):
        read_results(path)


def test_errors_log_append_after_a_torn_line_keeps_the_file_readable(tmp_path: Path) -> None:
    """A kill inside an errors.jsonl write, then the resumed run's next error: both errors readable
    (without the cut, the new line glued to the torn one made a corrupt middle line)."""
    path = tmp_path / "errors.jsonl"
    append_jsonl(path, _rec(1) | {"error": "BackendUnavailable: down"})
    with path.open("ab") as fh:
        fh.write(json.dumps(_rec(2))[:17].encode())  # the interrupted write
    append_jsonl(path, _rec(3) | {"error": "BackendTimeout: slow"})
    assert [r["item_id"] for r in read_results(path)] == ["xstest:1", "xstest:3"]
    assert path.read_text().endswith("\n")


def test_manifest_refuses_a_changed_config(tmp_path: Path) -> None:
    info = {"config": {"seed": 0, "model": "m"}, "config_hash": "aaa"}
    first = check_and_merge(None, common={}, methods={"vanilla": info}, invocation={"n": 1}, run_dir=tmp_path)
    # same config again: accepted, invocation appended; a new method may join
    again = check_and_merge(
        first, common={}, methods={"vanilla": info, "lance": {"config": {}, "config_hash": "b"}}, invocation={"n": 2}, run_dir=tmp_path
    )
    assert len(again["invocations"]) == 2 and set(again["methods"]) == {"vanilla", "lance"}
    changed = {"config": {"seed": 1, "model": "m"}, "config_hash": "ccc"}
    with pytest.raises(ConfigError, match="changed: seed"):
        check_and_merge(again, common={}, methods={"vanilla": changed}, invocation={}, run_dir=tmp_path)
