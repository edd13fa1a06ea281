"""The judges' validation studies: leave-one-model-out on XSTest, safety judge per source, JBB human CV.

Kept out of ``lance.judges`` (which trains and runs the judges) because only the benches and the
tests read them: ``bench/refusal_detector.py`` and ``bench/safety_judge.py`` print their tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from lance.datasets.paths import data_dir

from lance.judges import data as D
from lance.judges.training import (
    OPENER_TOKENS,
    EmbeddingCache,
    Progress,
    RefusalData,
    _binary_agreement,
    fit_safety,
    safety_feature_matrix,
    safety_rows,
    safety_split,
    select_refusal_config,
)


@dataclass
class FoldResult:
    model: str
    n: int
    binary: float
    three_way: float
    strmatch_binary: float
    gpt4_binary: float
    #: (opener words, n-gram boost) chosen on the four training models, and its inner score.
    config: tuple[int, float] = (OPENER_TOKENS, 0.5)
    inner_binary: float = 0.0


def _binary(label: str) -> bool:
    return not label.startswith("1")


def xstest_baselines() -> dict[str, dict[str, tuple[int, int, int]]]:
    """Per model: (rows, binary agreements, 3-way agreements) of XSTest's own classifiers."""
    out: dict[str, dict[str, tuple[int, int, int]]] = {}
    for kind in ("strmatch", "gpt4"):
        per: dict[str, list[int]] = {}
        for model, human, auto in D.xstest_baseline_labels(kind):  # type: ignore[arg-type]
            acc = per.setdefault(model, [0, 0, 0])
            acc[0] += 1
            acc[1] += int(_binary(human) == _binary(auto))
            acc[2] += int(human == auto)
        out[kind] = {m: (a[0], a[1], a[2]) for m, a in per.items()}
    return out


def leave_one_model_out(cache: EmbeddingCache, progress: Progress | None = None) -> list[FoldResult]:
    """Train on 4 XSTest models' responses + CAST openers, test on the 5th; all 5 folds.
    Nested: each fold picks its configuration by LOMO over its own 4 training models."""
    data = RefusalData.load(cache)
    base = xstest_baselines()
    results = []
    for m in D.XSTEST_MODELS:
        if progress:
            progress(f"fold: held-out model {m}")
        config, inner = select_refusal_config(data, [k for k in D.XSTEST_MODELS if k != m], progress)
        test = data.models == m
        pred = data.predict(data.fit(~test, config), test)
        yt = data.y[test]
        s, g = base["strmatch"][m], base["gpt4"][m]
        results.append(
            FoldResult(
                model=m,
                n=int(test.sum()),
                binary=_binary_agreement(pred, yt),
                three_way=float((pred == yt).mean()),
                strmatch_binary=s[1] / s[0],
                gpt4_binary=g[1] / g[0],
                config=config,
                inner_binary=inner[config],
            )
        )
    return results


@dataclass
class SafetyEval:
    source: str
    n: int
    accuracy: float
    f1: float
    positives: int


def _acc_f1(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    tp = int(((p == 1) & (y == 1)).sum())
    fp = int(((p == 1) & (y == 0)).sum())
    fn = int(((p == 0) & (y == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
    return float((p == y).mean()) if len(y) else 0.0, f1


def evaluate_safety(cache: EmbeddingCache, include_nc: bool = False, progress: Progress | None = None) -> list[SafetyEval]:
    """Fit on the train split, report accuracy and F1 on held-out rows per source and overall."""
    from lance.taxonomy import load_taxonomy

    rows = safety_rows(include_nc)
    if progress:
        progress(f"{len(rows)} labelled responses")
    x = safety_feature_matrix(rows, cache)
    test = np.array([safety_split(r) == "test" for r in rows])
    model = fit_safety(x[~test], [r for r, t in zip(rows, test) if not t], load_taxonomy().risk_ids)
    p = (model.p_unsafe(x[test]) >= 0.5).astype(int)
    y = np.array([int(r.unsafe) for r, t in zip(rows, test) if t])
    src = np.array([r.source.split("/")[0] for r, t in zip(rows, test) if t])
    out = []
    for s in sorted(set(src)):
        k = src == s
        a, f = _acc_f1(y[k], p[k])
        out.append(SafetyEval(s, int(k.sum()), a, f, int(y[k].sum())))
    a, f = _acc_f1(y, p)
    out.append(SafetyEval("all held-out", len(y), a, f, int(y.sum())))
    return out


def jbb_human_cv(cache: EmbeddingCache, include_nc: bool = False, folds: int = 5) -> tuple[SafetyEval, dict[str, float]]:
    """The 100 three-annotator JBB rows, each judged by a model trained without it
    (grouped k-fold by goal; all other sources always in training), next to the
    judges listed in the file itself (agreement with the human majority)."""
    import csv

    from lance.taxonomy import load_taxonomy

    human = D.jbb_classifier_comparison()
    others = [r for r in safety_rows(include_nc) if r.source != "jbb_classifier_comparison"]
    x_h = safety_feature_matrix(human, cache)
    x_o = safety_feature_matrix(others, cache)
    fold = np.array([int(hashlib.sha1(r.group.encode()).hexdigest(), 16) % folds for r in human])
    pred = np.zeros(len(human), int)
    for k in range(folds):
        tr = fold != k
        model = fit_safety(np.vstack([x_h[tr], x_o]), [h for h, t in zip(human, tr) if t] + others, load_taxonomy().risk_ids)
        pred[~tr] = (model.p_unsafe(x_h[~tr]) >= 0.5).astype(int)
    y = np.array([int(r.unsafe) for r in human])
    a, f = _acc_f1(y, pred)
    path = data_dir() / "jbb_behaviors" / "classifier_comparison.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    refs = {}
    for col in ("llama_guard", "gpt_4", "gpt_4_turbo", "TDC", "GCG", "BERT"):
        refs[col] = float(np.mean([int(row[col]) == int(row["human_majority"]) for row in table]))
    return SafetyEval("jbb_classifier_comparison (5-fold CV)", len(y), a, f, int(y.sum())), refs


