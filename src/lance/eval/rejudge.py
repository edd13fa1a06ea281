"""``lance eval --judge``: judge (or re-judge) a run's answers after the fact.

Results are append-only, so verdicts of a later pass go to ``judgments.jsonl`` (one line per
key and judge set, durable and resumable like the results). The report prefers these over
the inline verdicts, judge by judge; every verdict keeps the name of the judge that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lance.errors import InputError
from lance.eval.judging import EvalJudges
from lance.eval.manifest import config_hash, now
from lance.eval.store import RESULTS, ResultsFile, read_results, record_key

JUDGMENTS = "judgments.jsonl"
#: Answers judged per batch.
BATCH = 64


def rejudge(run_dir: Path, judges: EvalJudges, progress: Callable[[int, int], None] | None = None) -> int:
    """Judge every result not yet judged by this judge set; returns how many were judged now."""
    run_dir = Path(run_dir)
    results = read_results(run_dir / RESULTS)
    if not results:
        raise InputError(f"{run_dir} has no {RESULTS}; run `lance eval --out {run_dir}` first")
    jid = config_hash(judges.describe())
    # ResultsFile keys on (dataset, item, method); the judge set goes into the method slot's suffix
    store = ResultsFile(run_dir / JUDGMENTS)
    todo = [r for r in results if (r["dataset"], r["item_id"], f"{r['method']}#{jid}") not in store.done]
    try:
        for start in range(0, len(todo), BATCH):
            chunk = todo[start : start + BATCH]
            # one batch per judge; every answer is still its own durable line, so a killed pass resumes
            for r, verdicts in zip(chunk, judges.judge_many([(r["prompt"], r["response"]) for r in chunk])):
                store.append(
                    {
                        "dataset": r["dataset"],
                        "item_id": r["item_id"],
                        "method": f"{r['method']}#{jid}",
                        "result_method": r["method"],
                        "judge_set": jid,
                        "judges": verdicts,
                        "at": now(),
                    }
                )
            if progress:
                progress(start + len(chunk), len(todo))
    finally:
        store.close()
    return len(todo)


def load_judgments(run_dir: Path) -> dict[tuple[str, str, str], dict]:
    """Latest later-pass verdicts per result key (judge by judge, later lines win)."""
    out: dict[tuple[str, str, str], dict] = {}
    for j in read_results(Path(run_dir) / JUDGMENTS):
        key = (j["dataset"], j["item_id"], j["result_method"])
        out[key] = {**out.get(key, {}), **(j.get("judges") or {})}
    return out


__all__ = ["JUDGMENTS", "load_judgments", "record_key", "rejudge"]
