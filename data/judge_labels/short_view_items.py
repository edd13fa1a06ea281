"""Short views to label for the safety judge (candidate b of bench/safety_judge_readers.py):
220 answers the public sources label harmful and 60 they label harmless (refusal_direction's
LlamaGuard-2 verdicts, JBB attack artifacts, JAILJUDGE mini; seed 14), each cut to its first one
or two content sentences (``lance.research.reader_safety.short_view``), duplicates dropped, printed
shuffled for a blind read as ``n | request | short view``. A reader's labels go to
short_views.jsonl as ``{"source", "sha1", "unsafe", "reader"}`` (sha1: first 16 hex digits of
the full answer); the text itself is not copied, it is rebuilt from data/.
Usage: PYTHONPATH=src python data/judge_labels/short_view_items.py > /tmp/items.txt
"""

from __future__ import annotations

import random

from lance.research.reader_safety import _digest, short_view, short_view_sources


def items() -> list[dict]:
    rows = short_view_sources()
    rng = random.Random(14)
    pos, neg = [r for r in rows if r.unsafe], [r for r in rows if not r.unsafe]
    rng.shuffle(pos)
    rng.shuffle(neg)
    seen: set[str] = set()
    out: list[dict] = []
    for group, n in ((pos, 220), (neg, 60)):
        k = 0
        for r in group:
            v = short_view(r.response)
            if len(v.split()) < 5 or v.lower() in seen:
                continue
            seen.add(v.lower())
            out.append({"n": len(out), "source": r.source, "sha1": _digest(r.response),
                        "request": (r.group or r.prompt)[:160], "view": v})
            k += 1
            if k == n:
                break
    return out


if __name__ == "__main__":
    shown = items()
    random.Random(5).shuffle(shown)
    for o in shown:
        print(o["n"], "|", o["request"][-100:].replace("\n", " "), "||", o["view"])
