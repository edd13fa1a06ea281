"""Loaders for benign general-instruction sets (all ``safe``): AlpacaEval, MT-Bench,
Vicuna bench, Arena-Hard and Self-Instruct's user-oriented set."""

from __future__ import annotations

from lance.datasets._io import clean, make_record, read_json, read_jsonl
from lance.datasets.records import Record


def load_alpaca_eval() -> list[Record]:
    """805 instructions; ``meta['origin']`` is the sub-source (selfinstruct, oasst, ...)."""
    rows = read_json("alpaca_eval", "model_outputs.json")
    return [
        make_record("alpaca_eval", i, clean(r["instruction"]), "safe", origin=r["dataset"])
        for i, r in enumerate(rows)
        if clean(r["instruction"])
    ]


def _first_turn(name: str, rows: list[dict], extra_keys: tuple[str, ...] = ()) -> list[Record]:
    out = []
    for i, r in enumerate(rows):
        turns = [t["content"] if isinstance(t, dict) else t for t in r["turns"]]
        text = clean(turns[0]) if turns else ""
        if text:
            extra = {k: r[k] for k in extra_keys}
            meta = {"category": r.get("category"), "question_id": r["question_id"], "turns": turns, **extra}
            out.append(make_record(name, i, text, "safe", **meta))
    return out


def load_mt_bench() -> list[Record]:
    """80 questions; the first turn is the prompt (the second depends on the answer)."""
    return _first_turn("mt_bench", read_jsonl("mt_bench", "question.jsonl"))


def load_vicuna_bench() -> list[Record]:
    """80 single-turn questions in 9 categories."""
    return _first_turn("vicuna_bench", read_jsonl("vicuna_bench", "question.jsonl"))


def load_arena_hard() -> list[Record]:
    """500 hard real-user prompts; the topic cluster is kept in meta."""
    return _first_turn("arena_hard", read_jsonl("arena_hard", "question.jsonl"), ("cluster",))


def load_self_instruct() -> list[Record]:
    """252 instructions; the instance input, when present, is appended to the instruction."""
    out = []
    rows = read_jsonl("self_instruct_user_oriented", "user_oriented_instructions.jsonl")
    for i, r in enumerate(rows):
        instr = clean(r["instruction"])
        inp = clean(r["instances"][0]["input"]) if r.get("instances") else ""
        text = f"{instr}\n\n{inp}" if inp else instr
        if text:
            out.append(
                make_record("self_instruct_user_oriented", i, text, "safe", app=r["motivation_app"], orig_id=r["id"])
            )
    return out
