"""``run_eval``: every (dataset item × method) answered, judged and appended to the run directory.

Concurrency is an asyncio semaphore over (item, method) tasks: against an HTTP backend the
calls overlap; with the in-process llama.cpp model they are serialised by the model's lock
(so the default concurrency there is 1, which also keeps measured latency honest). Each
finished task is written to ``results.jsonl`` at once (see ``store``); a restart with the
same arguments skips the finished keys. Failures of one item (a backend error, a prompt too
long for the context, and for LANCE's methods a backend failure the pipeline absorbed into a
fallback refusal) go to ``errors.jsonl``, never into the results as answers; the report counts
them apart and the next invocation retries them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lance.assess.distribution import Assessor
from lance.backends.base import ChatModel, GenerateParams
from lance.config import LanceSettings
from lance.datasets import Record
from lance.errors import InputError, LanceError, ModelFileError
from lance.datasets.user_file import file_dataset_name, load_prompt_file
from lance.eval.items import DEFAULT_HARMFUL_SETS, check_dataset, load_items, sample_records
from lance.eval.judging import EvalJudges
from lance.eval.manifest import check_and_merge, config_hash, now, read_manifest, write_manifest
from lance.eval.methods import EvalContext, Method, build_method, parse_methods
from lance.eval.store import ERRORS, RESULTS, ResultsFile, append_jsonl

log = logging.getLogger(__name__)

#: Methods that need the label-enhancement assessor.
NEEDS_ASSESSOR = frozenset({"guard_block", "single_direction", "lance"})


class EvalArgs(BaseModel):
    """The arguments of one ``lance eval`` invocation."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(default_factory=lambda: ["xstest"])
    methods: list[str] = Field(default_factory=lambda: ["all"])
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    concurrency: int | None = Field(default=None, ge=1)
    #: Target answer length (all methods; LANCE's refiner has its own limit in ``pipeline``).
    max_tokens: int = Field(default=128, ge=1)
    #: ``None``: the backend's configured temperature.
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    harmful_sets: list[str] = Field(default_factory=lambda: list(DEFAULT_HARMFUL_SETS))
    guard_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Judge inline (offline judges); ``False`` leaves it to a later ``lance eval --judge`` pass.
    judge: bool = True
    #: The operator's own prompt files (JSONL or CSV, :mod:`lance.datasets.user_file`), each a
    #: dataset named ``file:<stem>`` in the run.
    files: list[Path] = Field(default_factory=list)


def item_seed(seed: int, dataset: str, item_id: str) -> int:
    """Per-item sampling seed, shared by all methods (common random numbers)."""
    h = hashlib.sha256(f"{seed}:{dataset}:{item_id}".encode()).digest()
    return int.from_bytes(h[:4], "big") % (2**31 - 1)


def backend_summary(settings: LanceSettings) -> dict[str, Any]:
    """The backend settings that change answers (no API key)."""
    out = settings.backend.model_dump(mode="json", exclude={"api_key", "timeout", "max_retries"})
    if settings.refiner is not None:
        out["refiner"] = settings.refiner.model_dump(mode="json", exclude={"api_key", "timeout", "max_retries"})
    return out


def checkpoint_identity(settings: LanceSettings) -> str:
    """Which LE checkpoint: the path and its size/mtime-free content hash prefix."""
    from lance.assess.checkpoint import default_checkpoint_path

    path = Path(settings.le_checkpoint) if settings.le_checkpoint else default_checkpoint_path(settings.encoder.name)
    if not path.exists():
        return f"{path.name}:missing"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name}:{digest}"


@dataclass
class RunSummary:
    run_dir: Path
    total: int
    skipped: int
    done: int
    failed: int
    wall_s: float
    errors: list[str] = field(default_factory=list)


def _item_meta(r: Record) -> dict[str, Any]:
    keep = ("type", "focus", "note", "category", "semantic_category", "types_of_harm", "specific_harm", "risk_area")
    return {k: r.meta[k] for k in keep if k in r.meta}


class Runner:
    """Holds the context, methods and judges for one invocation."""

    def __init__(
        self,
        settings: LanceSettings,
        args: EvalArgs,
        run_dir: Path,
        *,
        target: ChatModel | None = None,
        assessor: Assessor | None = None,
        judges: EvalJudges | None = None,
        argv: Sequence[str] | None = None,
    ) -> None:
        from lance.backends import get_chat_model

        self.settings = settings
        self.args = args
        self.run_dir = Path(run_dir)
        self.method_names = parse_methods(args.methods)
        for ds in args.datasets:  # a typo fails here, before any model is loaded
            check_dataset(ds, args.harmful_sets)
        # so does a bad prompt file: it is read whole before any model loads
        self.files: dict[str, tuple[Path, list[Record]]] = {}
        for path in args.files:
            name = file_dataset_name(path)
            if name in self.files:
                raise InputError(f"two prompt files share the name {name!r}: rename one ({path}, {self.files[name][0]})")
            self.files[name] = (Path(path), load_prompt_file(path))
        self._owns_target = target is None
        self.target = target or get_chat_model(settings.backend)
        temperature = settings.backend.temperature if args.temperature is None else args.temperature
        self.params = GenerateParams(
            temperature=temperature, max_tokens=args.max_tokens, timeout=settings.backend.timeout
        )
        self.ctx = EvalContext(settings, self.target, self.params, assessor=assessor)
        self._owns_assessor = assessor is None
        self.assessor_ok = self._check_assessor()
        self.methods: dict[str, Method] = {
            n: build_method(n, self.ctx, guard_threshold=args.guard_threshold) for n in self.method_names
        }
        self.judges = judges if judges is not None else (EvalJudges.load(settings) if args.judge else None)
        self.argv = list(argv) if argv is not None else list(sys.argv)

    def _check_assessor(self) -> bool:
        try:
            _ = self.ctx.assessor
            return True
        except ModelFileError:
            needing = [m for m in self.method_names if m in NEEDS_ASSESSOR]
            if needing:
                raise
            log.warning("no label-enhancement checkpoint: prompts' risk distributions are not recorded")
            return False

    def _assessor_identity(self) -> str | None:
        if not self.assessor_ok:
            return None
        if not self._owns_assessor:  # passed in: name it; its weights are the caller's business
            return f"given:{type(self.ctx.assessor).__name__}"
        return checkpoint_identity(self.settings)

    def close(self) -> None:
        self.ctx.close()
        if self._owns_target:
            self.target.close()

    # --- configuration identity
    def common_config(self) -> dict[str, Any]:
        return {
            "backend": backend_summary(self.settings),
            "model": self.target.name,
            "params": self.params.model_dump(mode="json", exclude={"timeout", "seed"}),
            "seed": self.args.seed,
            "harmful_sets": list(self.args.harmful_sets),
            "le_checkpoint": self._assessor_identity(),
            "taxonomy": self.ctx.taxonomy.fingerprint(),
            "encoder": self.settings.encoder.name,
            "judges": self.judges.describe() if self.judges is not None else None,
        } | self._encoder_extras() | self._file_extras()

    def _file_extras(self) -> dict[str, Any]:
        """The prompt files' content digests (only when files are given, so other runs keep their hash):
        resuming a run on an edited file is refused rather than mixing two versions."""
        if not self.files:
            return {}
        return {"files": {n: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for n, (p, _) in sorted(self.files.items())}}

    def _encoder_extras(self) -> dict[str, str]:
        """What else identifies the gate's encoder, recorded only when it departs from the packaged
        default, so runs made with the defaults keep their configuration hash: a precision other
        than fp32, and an encoder top taken from ``$LANCE_ENCODER_TOP`` instead of the package
        (the packaged top ships with, and is pinned by, the packaged LE checkpoint)."""
        from lance.embeddings.top import TOP_ENV

        encoder = getattr(self.ctx.assessor, "encoder", None)
        extras: dict[str, str] = {}
        precision = getattr(encoder, "precision", "fp32")
        if precision != "fp32":
            extras["encoder_precision"] = precision
        digest = getattr(encoder, "top_digest", None)
        if digest and os.environ.get(TOP_ENV):
            extras["encoder_top"] = digest
        return extras

    def method_configs(self) -> dict[str, dict[str, Any]]:
        common = self.common_config()
        out = {}
        for name, m in self.methods.items():
            cfg = common | {"method": m.describe()}
            out[name] = {"config": cfg, "config_hash": config_hash(cfg)}
        return out

    # --- the run
    def plan(self) -> list[tuple[str, Record]]:
        items: list[tuple[str, Record]] = []
        for ds in self.args.datasets:
            for rec in load_items(ds, limit=self.args.limit, seed=self.args.seed, harmful_sets=self.args.harmful_sets):
                items.append((ds, rec))
        for name, (_, recs) in self.files.items():
            items += [(name, rec) for rec in sample_records(recs, name, limit=self.args.limit, seed=self.args.seed)]
        return items

    def _distributions(self, items: list[tuple[str, Record]]) -> dict[str, dict[str, float]]:
        if not self.assessor_ok:
            return {}
        texts = sorted({r.text for _, r in items})
        dists = self.ctx.assessor.assess(texts)
        return {t: {k: round(v, 6) for k, v in d.probs.items()} for t, d in zip(texts, dists)}

    def _record(
        self, dataset: str, rec: Record, method: str, seed: int, out: Any, dist: dict[str, float] | None,
        judged: dict[str, Any] | None, cfg_hash: str,
    ) -> dict[str, Any]:
        return {
            "version": 1,
            "dataset": dataset,
            "item_id": rec.id,
            "method": method,
            "model": self.target.name,
            "config_hash": cfg_hash,
            "seed": seed,
            "source": rec.source,
            "label": rec.label,
            "categories": list(rec.categories),
            # an operator's file keeps every extra column; built-in sets keep the fields the report uses
            "meta": dict(rec.meta) if rec.source.startswith("file:") else _item_meta(rec),
            "prompt": rec.text,
            "response": out.response,
            "route": out.route,
            "calls": out.calls,
            "usage": {
                "prompt_tokens": out.usage.prompt_tokens,
                "completion_tokens": out.usage.completion_tokens,
                "total_tokens": out.usage.total_tokens,
            },
            "latency_s": round(out.latency_s, 4),
            "distribution": dist,
            "extra": out.extra,
            "judges": judged,
            "finished_at": now(),
        }

    async def arun(self, progress: Callable[[int, int], None] | None = None, on_start: Callable[[int, int], None] | None = None) -> RunSummary:
        start = time.perf_counter()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        configs = self.method_configs()
        invocation = {"started": now(), "argv": self.argv, "args": self.args.model_dump(mode="json")}
        manifest = check_and_merge(
            read_manifest(self.run_dir), common=self.common_config(), methods=configs, invocation=invocation, run_dir=self.run_dir
        )
        write_manifest(self.run_dir, manifest)

        items = self.plan()
        results = ResultsFile(self.run_dir / RESULTS)
        todo = [
            (ds, rec, m) for ds, rec in items for m in self.method_names if (ds, rec.id, m) not in results.done
        ]
        total = len(items) * len(self.method_names)
        skipped = total - len(todo)
        dists = self._distributions([(ds, rec) for ds, rec, _ in todo])
        concurrency = self.args.concurrency or (1 if self.settings.backend.kind in ("llamacpp", "transformers") else 8)
        sem = asyncio.Semaphore(concurrency)
        judge_lock = asyncio.Lock()
        failed: list[str] = []
        done = 0
        if on_start:
            on_start(len(todo), skipped)

        async def one(ds: str, rec: Record, name: str) -> None:
            nonlocal done
            async with sem:
                seed = item_seed(self.args.seed, ds, rec.id)
                try:
                    out = await self.methods[name].arun(rec.text, seed)
                    judged = None
                    if self.judges is not None:
                        async with judge_lock:  # the judges share one encoder; keep them off each other's toes
                            judged = await asyncio.to_thread(self.judges.judge, rec.text, out.response, rec.label)
                except LanceError as exc:
                    failed.append(f"{ds}/{rec.id}/{name}: {exc}")
                    append_jsonl(
                        self.run_dir / ERRORS,
                        {"dataset": ds, "item_id": rec.id, "method": name, "error": f"{type(exc).__name__}: {exc}", "at": now()},
                    )
                else:
                    results.append(
                        self._record(ds, rec, name, seed, out, dists.get(rec.text), judged, configs[name]["config_hash"])
                    )
                    done += 1
                if progress:
                    progress(done, len(failed))

        try:
            await asyncio.gather(*(one(ds, rec, m) for ds, rec, m in todo))
        finally:
            results.close()
            manifest["invocations"][-1]["finished"] = now()
            manifest["invocations"][-1]["completed"] = done
            manifest["invocations"][-1]["failed"] = len(failed)
            manifest["invocations"][-1]["wall_s"] = round(time.perf_counter() - start, 2)
            write_manifest(self.run_dir, manifest)
        return RunSummary(self.run_dir, total, skipped, done, len(failed), time.perf_counter() - start, failed)


#: Called once with (items to do, items already done), then after each item with (done, failed).
StartHook = Callable[[int, int], None]
ProgressHook = Callable[[int, int], None]


def run_eval(
    settings: LanceSettings,
    args: EvalArgs,
    run_dir: Path,
    *,
    target: ChatModel | None = None,
    assessor: Assessor | None = None,
    judges: EvalJudges | None = None,
    argv: Sequence[str] | None = None,
    on_start: StartHook | None = None,
    progress: ProgressHook | None = None,
) -> RunSummary:
    """Run (or resume) an evaluation into ``run_dir``; blocking. Pass ``target``/``assessor`` to share loaded ones;
    ``on_start``/``progress`` report how far it is (the CLI draws a progress bar with them)."""
    runner = Runner(settings, args, run_dir, target=target, assessor=assessor, judges=judges, argv=argv)
    try:
        return asyncio.run(runner.arun(progress, on_start))
    finally:
        runner.close()
