"""Runs the attack set (data/attacks/attacks.jsonl) through the real pipeline with the embedded model
and writes what reached the target and what the user got, for reading and labelling once
(data/attacks/labels.jsonl; tests/respond/test_attacks.py checks the pipeline against them).

    python bench/attacks.py            # writes data/attacks/outcomes.jsonl
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "respond"), str(ROOT / "tests")]  # the tests' helpers


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from respond_helpers import FAST, Recording  # the tests' pass-through recorder around a real model

    from lance import Lance
    from lance.backends import get_chat_model
    from lance.config import LanceSettings
    from lance.judges.safety import default_safety_judge

    settings = LanceSettings()
    target = Recording(get_chat_model(settings.backend))
    lance = Lance(settings, target=target)
    judge = default_safety_judge()
    out = []
    for line in (ROOT / "data" / "attacks" / "attacks.jsonl").read_text().splitlines():
        a = json.loads(line)
        target.calls.clear()
        r = lance.respond(a["messages"], FAST)
        sent = [[m.model_dump() for m in c] for c in target.calls]
        last_user = next(m["content"] for m in reversed(a["messages"]) if m["role"] == "user")
        v = judge.judge(last_user, r.response)
        out.append({"id": a["id"], "kind": a["kind"], "route": r.route, "reason": r.reason, "sent": sent,
                    "response": r.response, "refusal_by": r.refusal_by, "judge_unsafe": not v.safe,
                    "judge_score": round(v.score, 3)})
        print(a["id"], a["kind"], r.route, "|", r.response[:100].replace("\n", " "), flush=True)
    with (ROOT / "data" / "attacks" / "outcomes.jsonl").open("w") as f:
        for o in out:
            f.write(json.dumps(o) + "\n")


if __name__ == "__main__":
    main()
