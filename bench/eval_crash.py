"""Eval crash: SIGKILL ``lance eval`` at random points, resume it each time, and check nothing was lost.

``lance eval`` (the real embedded model, judged inline) runs as a child process into a scratch
run directory. Each round it is killed with SIGKILL at a random point, then started again with
the same arguments, ``--kills`` times; after the last kill it runs to the end. The kill points
are drawn from ``--seed`` (printed). About a quarter are "timed": a random moment within the
start-up time last measured (model loading, the manifest write, the resume's repair, or the
first items); the rest wait for a random number of new rows plus a random part of the gap
between two rows, so they fall between writes and inside items. With ``--tear N``, after N of
the kills a torn tail (the first half of the last line, no newline: what a kill inside the one
``write`` would leave) is appended to results.jsonl, since a natural kill rarely lands inside
a write.

Checked at the end, against the keys computed here from the dataset (not from the runner):

* lost: expected (dataset, item, method) keys with no line in results.jsonl (target 0);
* duplicated: keys with more than one line (target 0);
* invalid lines: lines of results.jsonl or errors.jsonl that are not JSON (target 0), i.e.
  no torn line survived a resume; torn tails found after kills (natural and injected) are counted;
* the run still reads: ``lance report`` on it exits 0 (``--no-report`` skips it).

Run:  nice -n 15 .venv/bin/python bench/eval_crash.py --out /tmp/lance-crash [--kills 20] [--limit 30]
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS, ERRORS, MANIFEST = "results.jsonl", "errors.jsonl", "run.json"


def eval_cmd(args: argparse.Namespace) -> list[str]:
    cmd = [
        sys.executable, "-m", "lance", "eval", "--methods", args.methods, "--limit", str(args.limit),
        "--max-tokens", str(args.max_tokens), "--seed", str(args.eval_seed), "--quiet", "--out", str(args.out),
    ]  # fmt: skip
    for ds in args.dataset:
        cmd += ["--dataset", ds]
    return cmd + (["--no-judge"] if args.no_judge else [])


def expected_keys(args: argparse.Namespace) -> set[tuple[str, str, str]]:
    """Every key the run must end with: the dataset's sample (as ``--limit``/``--seed`` select it) x methods."""
    from lance.eval.items import DEFAULT_HARMFUL_SETS, load_items
    from lance.eval.methods import parse_methods

    methods = parse_methods([args.methods])
    keys = set()
    for ds in args.dataset:
        for rec in load_items(ds, limit=args.limit, seed=args.eval_seed, harmful_sets=list(DEFAULT_HARMFUL_SETS)):
            keys |= {(ds, rec.id, m) for m in methods}
    return keys


def rows(path: Path) -> int:
    """Complete lines in ``path`` (a torn tail not counted)."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def torn(path: Path) -> bool:
    """The file ends inside a line: what a kill inside a ``write`` leaves."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def tear(path: Path) -> None:
    """Append the first half of the last line, unterminated."""
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    with path.open("ab") as fh:
        fh.write(last[: max(1, len(last) // 2)])
        fh.flush()
        os.fsync(fh.fileno())


def lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Parsed lines and the number of lines that are not JSON objects."""
    if not path.exists():
        return [], 0
    good, bad = [], 0
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict):
            good.append(rec)
        else:
            bad += 1
    return good, bad


class Child:
    """One ``lance eval`` invocation, output to a log file."""

    def __init__(self, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log.open("ab")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="scratch run directory (must not exist; --fresh deletes it)")
    ap.add_argument("--fresh", action="store_true", help="delete --out first")
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs before the run may finish (default 20)")
    ap.add_argument("--dataset", action="append", default=None, help="lance eval --dataset (default xstest)")
    ap.add_argument("--methods", default="vanilla,guard_block,lance", help="lance eval --methods")
    ap.add_argument("--limit", type=int, default=30, help="lance eval --limit (default 30)")
    ap.add_argument("--max-tokens", type=int, default=8, help="lance eval --max-tokens (default 8)")
    ap.add_argument("--eval-seed", type=int, default=0, help="lance eval --seed (selection; default 0)")
    ap.add_argument("--no-judge", action="store_true", help="lance eval --no-judge (faster start-ups)")
    ap.add_argument("--tear", type=int, default=5, help="kills after which a torn tail is appended (default 5)")
    ap.add_argument("--seed", type=int, default=None, help="kill points (printed; default random)")
    ap.add_argument("--no-report", action="store_true", help="skip the final `lance report`")
    ap.add_argument("--cycle-timeout", type=float, default=3600, help="seconds one invocation may run")
    args = ap.parse_args()
    args.dataset = args.dataset or ["xstest"]
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    if args.out.exists():
        if not args.fresh:
            ap.error(f"{args.out} exists; pass --fresh to delete it (the bench needs an empty run directory)")
        shutil.rmtree(args.out)
    rng = random.Random(args.seed)
    tear_after = set(rng.sample(range(args.kills), min(args.tear, args.kills)))
    print(f"seed {args.seed}; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)

    expected = expected_keys(args)
    cmd = eval_cmd(args)
    print(f"{len(expected)} expected rows; command: {' '.join(cmd[1:])}", flush=True)
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    args.out.mkdir(parents=True)
    log = args.out.parent / f"{args.out.name}.log"
    log.unlink(missing_ok=True)
    results = args.out / RESULTS
    wall = time.monotonic()
    startup = 30.0  # seconds from launch to the first new row; re-measured each round
    gap = 5.0  # seconds between rows; re-measured
    kills: list[dict[str, Any]] = []
    torn_found = {"results": 0, "errors": 0}
    injected = 0
    for k in range(args.kills):
        before = rows(results)
        remaining = len(expected) - before
        if remaining <= 1:
            print(f"only {remaining} row(s) left after {k} kills: stopping the kills early", flush=True)
            break
        leftover = torn(results)  # an injected tail the last (early) kill left unrepaired
        child = Child(cmd, log, env)
        if rng.random() < 0.25:
            mode, target = "timed", None
            delay = rng.uniform(0.0, startup)
            time.sleep(delay)
        else:
            mode = "rows"
            target = before + rng.randint(1, max(1, math.ceil(remaining / (args.kills - k + 1))))
            first_row = None
            while rows(results) < target:
                if child.proc.poll() is not None:
                    raise SystemExit(f"lance eval exited by itself ({child.proc.returncode}) before kill {k + 1}; see {log}")
                if time.monotonic() - child.started > args.cycle_timeout:
                    child.kill()
                    raise SystemExit(f"no row in {args.cycle_timeout:.0f}s; see {log}")
                if first_row is None and rows(results) > before:
                    first_row = time.monotonic()
                    startup = first_row - child.started
                time.sleep(0.02)
            now = time.monotonic()
            if first_row is None:
                startup = now - child.started
            elif target - before > 1:
                gap = (now - first_row) / (target - before - 1)
            delay = rng.uniform(0.0, gap)
            time.sleep(delay)
        if child.proc.poll() is not None:
            raise SystemExit(f"lance eval finished ({child.proc.returncode}) before kill {k + 1} landed; see {log}")
        alive_s = time.monotonic() - child.started
        child.kill()
        after = rows(results)
        # a tail that was there before this child and survived it (no row written, so no repair yet) is not new
        found = {"results": torn(results) and not (leftover and after == before), "errors": torn(args.out / ERRORS)}
        for name, hit in found.items():
            torn_found[name] += hit
        if k in tear_after and after:
            tear(results)
            injected += 1
        kills.append({"kill": k + 1, "mode": mode, "after_s": round(alive_s, 1), "rows_before": before, "rows_after": after,
                      "torn": [n for n, hit in found.items() if hit], "injected_tear": k in tear_after and after > 0})
        print(f"kill {k + 1:2d} ({mode}, {alive_s:5.1f}s in): rows {before} -> {after}"
              f"{' torn:' + ','.join(n for n, h in found.items() if h) if any(found.values()) else ''}"
              f"{' +torn tail' if kills[-1]['injected_tear'] else ''}", flush=True)  # fmt: skip

    finals = []
    for attempt in range(3):  # a run with failed items exits 2 and is rerun (the docs' rule)
        child = Child(cmd, log, env)
        rc = child.wait(timeout=args.cycle_timeout)
        finals.append(rc)
        if rc == 0:
            break
        if rc != 2:
            raise SystemExit(f"resumed lance eval exited {rc}; see {log}")

    recs, bad_results = lines(results)
    errs, bad_errors = lines(args.out / ERRORS)
    keys = Counter((str(r.get("dataset")), str(r.get("item_id")), str(r.get("method"))) for r in recs)
    manifest = json.loads((args.out / MANIFEST).read_text())
    invocations = manifest.get("invocations", [])
    report_rc = None
    if not args.no_report:
        report_rc = subprocess.run([sys.executable, "-m", "lance", "report", str(args.out)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode  # fmt: skip
    fig = {
        "seed": args.seed,
        "command": " ".join(cmd[1:]),
        "kills": len(kills),
        "kill_modes": dict(Counter(k["mode"] for k in kills)),
        "final_exit_codes": finals,
        "expected_rows": len(expected),
        "rows": sum(keys.values()),
        "lost": len(expected - set(keys)),
        "duplicated": sum(c - 1 for c in keys.values() if c > 1),
        "unexpected": len(set(keys) - expected),
        "invalid_lines": {"results": bad_results, "errors": bad_errors},
        "torn_found_after_kills": torn_found,
        "torn_injected": injected,
        "error_lines": len(errs),
        "invocations_recorded": len(invocations),
        "rows_by_invocation": [i.get("completed") for i in invocations],
        "report_exit": report_rc,
        "wall_s": round(time.monotonic() - wall, 1),
        "load_average_end": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "kill_log": kills,
    }
    text = json.dumps(fig, indent=2)
    print(text)
    (args.out.parent / f"{args.out.name}.json").write_text(text + "\n")
    missed = [
        name
        for name, bad in {
            "lost": fig["lost"] > 0,
            "duplicated": fig["duplicated"] > 0 or fig["unexpected"] > 0,
            "invalid_lines": bad_results + bad_errors > 0,
            "report": report_rc not in (None, 0),
            "finished": finals[-1] != 0,
        }.items()
        if bad
    ]
    print("targets:", "all met" if not missed else f"MISSED {missed}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
