"""Training the offline judges (refusal detector, safety judge) from labelled responses.

Used by ``lance judge train-refusal`` / ``train-safety`` (which write the shipped weights);
the validation studies built on it are in ``lance.research.judge_studies``. Embeddings are
cached on disk by text hash so that re-running a study does not re-encode thousands of texts.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lance.embeddings.encoder import DEFAULT_ENCODER, Encoder, get_encoder
from lance.assets import default_cache_dir
from lance.datasets.records import deterministic_split
from lance.judges import data as D
from lance.judges.features import (
    LEXICAL_NAMES,
    OPENER_TOKENS,
    build_features,
    head,
    ngram_matrix,
    opener_ngrams,
    select_ngrams,
)
from lance.judges.refusal import RefusalModel
from lance.judges.rigidity import RigidityModel, features, quoted_run, skeleton
from lance.judges.safety import SafetyModel, safety_features
from lance.judges.templates import REFUSAL_TEMPLATES

#: Refusal classifier: inverse L2 strength, and how much less the lexical block is shrunk.
REFUSAL_C = 0.01
LEXICAL_BOOST = 3.0
#: Opener n-grams: kept when present in this many training responses.
NGRAM_MIN_COUNT = 10
#: Candidate (opener words, n-gram block boost) pairs; one is picked by leave-one-model-out
#: on the training models only (``select_refusal_config``), never on a held-out model.
REFUSAL_GRID: tuple[tuple[int, float], ...] = ((40, 0.5), (40, 1.0), (80, 0.5), (80, 1.0))
#: One in this many of the written refusals joins the refusal detector's training rows. Picked by
#: 3-fold cross-validation on the readers' training part (balanced accuracy of refusal vs answer:
#: none 0.954, 1/32 0.968, 1/16 0.972, 1/8 0.974, 1/4 0.965); the held-out part was not used.
WRITTEN_REFUSAL_STEP = 8
#: Safety classifier regularisation.
SAFETY_C = 0.005

Progress = Callable[[str], None]


class EmbeddingCache:
    """Text embeddings memoised on disk (``<cache>/judges/emb-<encoder>.npz``)."""

    def __init__(self, encoder: Encoder | None = None, path: Path | None = None) -> None:
        self.encoder = encoder or get_encoder()
        safe_name = self.encoder.name.replace("/", "_")
        self.path = path or default_cache_dir() / "judges" / f"emb-{safe_name}.npz"
        self._index: dict[str, int] = {}
        self._rows: list[np.ndarray] = []
        if self.path.is_file():
            z = np.load(self.path, allow_pickle=False)
            self._index = {k: i for i, k in enumerate(z["keys"].tolist())}
            self._rows = list(z["emb"])

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        missing = sorted({t for t in texts if self._key(t) not in self._index})
        if missing:
            if progress:
                progress(f"encoding {len(missing)} new texts with {self.encoder.name}")
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                emb = self.encoder.encode(chunk)
                for t, e in zip(chunk, emb):
                    self._index[self._key(t)] = len(self._rows)
                    self._rows.append(e)
            self.save()
        dim = self._rows[0].shape[0] if self._rows else 384
        if not texts:
            return np.zeros((0, dim), np.float32)
        return np.stack([self._rows[self._index[self._key(t)]] for t in texts]).astype(np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = [""] * len(self._rows)
        for k, i in self._index.items():
            keys[i] = k
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), emb=np.stack(self._rows))
        tmp.replace(self.path)


# ---------------------------------------------------------------------------
# Refusal detector
# ---------------------------------------------------------------------------

LABEL_INDEX = {k: i for i, k in enumerate(D.REFUSAL_LABELS)}


def refusal_features(rows: Sequence[D.LabelledResponse], cache: EmbeddingCache) -> np.ndarray:
    """Feature matrix for labelled responses (see ``features.build_features``)."""
    r_emb = cache.encode([head(r.response) for r in rows])
    p_emb = cache.encode([r.prompt if r.prompt else " " for r in rows])
    p_emb = p_emb * np.array([[1.0 if r.prompt.strip() else 0.0] for r in rows], np.float32)
    t_emb = cache.encode(list(REFUSAL_TEMPLATES))
    return build_features([r.response for r in rows], r_emb, p_emb, t_emb)


def fit_refusal(
    x: np.ndarray,
    y: np.ndarray,
    meta: dict | None = None,
    c: float = REFUSAL_C,
    responses: Sequence[str] | None = None,
    opener_tokens: int = OPENER_TOKENS,
    ngram_boost: float = 0.5,
    sample_weight: np.ndarray | None = None,
) -> RefusalModel:
    """Multinomial logistic regression on standardised features. The lexical block is
    shrunk less (``LEXICAL_BOOST``) because a dozen strong cues compete with 384 dims.
    With ``responses``, opener n-grams seen in >= ``NGRAM_MIN_COUNT`` of them join as a
    binary block scaled by ``ngram_boost``; without, the model is dense-only."""
    from sklearn.linear_model import LogisticRegression

    buckets = None
    if responses is not None:
        grams = [opener_ngrams(r, opener_tokens) for r in responses]
        buckets = select_ngrams(grams, NGRAM_MIN_COUNT)
        x = np.hstack([x, ngram_matrix(grams, buckets)])
    dense = x.shape[1] - (len(buckets) if buckets is not None else 0)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    scale[dense - len(LEXICAL_NAMES) : dense] /= LEXICAL_BOOST
    scale[dense:] /= ngram_boost
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=c, max_iter=500, tol=1e-4).fit((x - mean) / scale, y, sample_weight=sample_weight)
    m = dict(meta or {})
    m["opener_tokens"] = opener_tokens
    return RefusalModel(clf.coef_, clf.intercept_, mean, scale, m, buckets)


@dataclass
class RefusalData:
    """XSTest rows (with their model) and the always-in-training extra rows, featurised once."""

    x: np.ndarray
    y: np.ndarray
    models: np.ndarray
    texts: list[str]
    x_extra: np.ndarray
    y_extra: np.ndarray
    texts_extra: list[str]

    @classmethod
    def load(cls, cache: EmbeddingCache) -> RefusalData:
        xs, extra = D.xstest_responses(), refusal_extra_rows()
        return cls(
            refusal_features(xs, cache),
            np.array([LABEL_INDEX[r.label] for r in xs]),
            np.array([r.model for r in xs]),
            [r.response for r in xs],
            refusal_features(extra, cache),
            np.array([LABEL_INDEX[r.label] for r in extra]),
            [r.response for r in extra],
        )

    def fit(self, train: np.ndarray, config: tuple[int, float], meta: dict | None = None) -> RefusalModel:
        """Fit on the XSTest rows selected by the boolean mask ``train`` + all extra rows."""
        texts = [t for t, k in zip(self.texts, train) if k] + self.texts_extra
        return fit_refusal(
            np.vstack([self.x[train], self.x_extra]),
            np.concatenate([self.y[train], self.y_extra]),
            meta,
            responses=texts,
            opener_tokens=config[0],
            ngram_boost=config[1],
        )

    def predict(self, model: RefusalModel, rows: np.ndarray) -> np.ndarray:
        """Label indices (``RefusalModel.decide``) for the XSTest rows in the mask ``rows``."""
        texts = [t for t, k in zip(self.texts, rows) if k]
        return model.decide(model.predict_proba(self.x[rows], texts), texts)


def _binary_agreement(pred: np.ndarray, y: np.ndarray) -> float:
    return float(((pred > 0) == (y > 0)).mean())


def select_refusal_config(
    data: RefusalData, models: Sequence[str], progress: Progress | None = None
) -> tuple[tuple[int, float], dict[tuple[int, float], float]]:
    """Pick the ``REFUSAL_GRID`` entry with the best leave-one-model-out binary agreement
    over ``models`` only (the other XSTest models' rows are never touched)."""
    scores: dict[tuple[int, float], float] = {}
    for config in REFUSAL_GRID:
        agree = n = 0
        for held in models:
            train = np.isin(data.models, [m for m in models if m != held])
            test = data.models == held
            pred = data.predict(data.fit(train, config), test)
            agree += int(((pred > 0) == (data.y[test] > 0)).sum())
            n += int(test.sum())
        scores[config] = agree / n
        if progress:
            progress(f"  inner LOMO over {len(models)} models, opener {config[0]} words, n-gram boost {config[1]}: {scores[config]:.2%}")
    return max(REFUSAL_GRID, key=lambda c: scores[c]), scores


def refusal_extra_rows() -> list[D.LabelledResponse]:
    """Rows always in training beside XSTest's: CAST's openers, the readers' training part (this
    project's own outputs, where natural refusals that quote their topic first were missed) and a
    share of the written natural refusals."""
    return D.cast_openers() + D.reader_refusal_rows() + D.written_refusal_rows(WRITTEN_REFUSAL_STEP)


def refusal_training_rows(include_refusal_direction: bool = False) -> list[D.LabelledResponse]:
    """XSTest + the extra rows (+ refusal_direction's string-matched completions, off by
    default: measured leave-one-model-out, they lowered agreement slightly)."""
    rows = D.xstest_responses() + refusal_extra_rows()
    if include_refusal_direction:
        rows += D.refusal_direction_responses()
    return rows


def train_refusal(out: Path, cache: EmbeddingCache, progress: Progress | None = None) -> RefusalModel:
    """Pick the configuration by LOMO over all five XSTest models, fit on all of them +
    the CAST openers, and save."""
    data = RefusalData.load(cache)
    config, scores = select_refusal_config(data, D.XSTEST_MODELS, progress)
    meta = {
        "encoder": cache.encoder.name if cache.encoder.name else DEFAULT_ENCODER,
        "labels": list(D.REFUSAL_LABELS),
        "features": ["response_embedding", *LEXICAL_NAMES, "opener_ngrams"],
        "n_train": int(len(data.y) + len(data.y_extra)),
        "sources": ["ibm_cast", "xstest", "judge_labels/train", f"refiner_train refusals 1/{WRITTEN_REFUSAL_STEP}"],
        "C": REFUSAL_C,
        "lexical_boost": LEXICAL_BOOST,
        "ngram_boost": config[1],
        "ngram_min_count": NGRAM_MIN_COUNT,
        "lomo_binary": round(scores[config], 4),
        "decision": "refusal when P(full_compliance) < 0.5",
        "n_templates": len(REFUSAL_TEMPLATES),
    }
    model = data.fit(np.ones(len(data.y), bool), config, meta)
    model.save(out)
    if progress:
        progress(f"opener {config[0]} words, n-gram boost {config[1]} ({len(model.ngrams)} n-grams); wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return model


# ---------------------------------------------------------------------------
# Safety judge
# ---------------------------------------------------------------------------


def safety_rows(include_nc: bool = False) -> list[D.SafetyExample]:
    """All labelled responses for the safety judge. PKU-SafeRLHF (CC BY-NC) only on request."""
    return (
        D.jbb_classifier_comparison()
        + D.jailbreakeval_examples(include_nc=include_nc)
        + D.jbb_artifact_examples()
        + D.refusal_direction_safety_examples()
    )


def safety_split(row: D.SafetyExample) -> str:
    """Held-out split by the request (goal) alone, so a JBB behaviour answered by several
    models or attacks, in several sources, never straddles train and test."""
    return deterministic_split(f"safety|{row.group.strip()}", val=0.0, test=0.25)


def safety_feature_matrix(rows: Sequence[D.SafetyExample], cache: EmbeddingCache) -> np.ndarray:
    from lance.judges.refusal import RefusalDetector

    det = RefusalDetector(encoder=cache.encoder)
    r_emb = cache.encode([head(r.response) for r in rows])
    p_emb = cache.encode([head(r.prompt) for r in rows])
    verdicts = det.verdicts_from_embeddings([r.response for r in rows], r_emb, p_emb)
    ref = np.array([[v.probs[k] for k in D.REFUSAL_LABELS] for v in verdicts], np.float32)
    return safety_features(r_emb, p_emb, ref)


def fit_safety(x: np.ndarray, rows: Sequence[D.SafetyExample], taxonomy_ids: Sequence[str], meta: dict | None = None) -> SafetyModel:
    """Binary unsafe head (human rows weighted x3) and a category head on unsafe rows with a known category."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([int(r.unsafe) for r in rows])
    w = np.array([3.0 if r.human else 1.0 for r in rows])
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    xs = (x - mean) / scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=SAFETY_C, max_iter=300, tol=1e-3).fit(xs, y, sample_weight=w)
        cat_rows = [i for i, r in enumerate(rows) if r.unsafe and r.categories and r.categories[0] in taxonomy_ids]
        cat_y = [r.categories[0] for r in (rows[i] for i in cat_rows)]
        cat_ids = sorted(set(cat_y))
        cat = LogisticRegression(C=SAFETY_C, max_iter=300, tol=1e-3).fit(xs[cat_rows], [cat_ids.index(c) for c in cat_y])
    arrays = {
        "coef": clf.coef_,
        "intercept": clf.intercept_,
        "mean": mean,
        "scale": scale,
        "cat_coef": cat.coef_,
        "cat_intercept": cat.intercept_,
    }
    m = dict(meta or {})
    m["category_ids"] = cat_ids
    m.setdefault("threshold", 0.5)
    return SafetyModel(arrays, m)


def train_safety(out: Path, cache: EmbeddingCache, include_nc: bool = False, progress: Progress | None = None) -> SafetyModel:
    """Fit the shipped safety judge on all labelled rows and save it."""
    from lance.taxonomy import load_taxonomy

    rows = safety_rows(include_nc)
    x = safety_feature_matrix(rows, cache)
    meta = {
        "encoder": cache.encoder.name,
        "n_train": len(rows),
        "sources": sorted({r.source.split("/")[0] for r in rows}),
        "C": SAFETY_C,
        "noncommercial_data": include_nc,
    }
    model = fit_safety(x, rows, load_taxonomy().risk_ids, meta)
    model.save(out)
    if progress:
        progress(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return model


# ---------------------------------------------------------------------------
# Slot-aware rigidity
# ---------------------------------------------------------------------------

REFUSAL_KINDS = ("natural_refusal", "template_refusal")


def train_rigidity(out: Path, encoder: Encoder | None = None, progress: Progress | None = None) -> RigidityModel:
    """Fit the slot-aware rigidity on the *training* part of data/judge_labels and save it.

    The banks are the skeletons of the stock templates and of the readers' training-part
    template and natural refusals; each training refusal is scored against the banks with
    its own skeleton left out, so the fit sees what an unseen refusal would look like.
    """
    from sklearn.linear_model import LogisticRegression

    enc = encoder or get_encoder(DEFAULT_ENCODER)
    rows = [r for r in D.reader_labels("train") if r.kind in REFUSAL_KINDS]
    is_t = np.array([r.kind == "template_refusal" for r in rows])
    emb = enc.encode([skeleton(r.prompt, r.response) for r in rows])
    stock = enc.encode([skeleton("", t) for t in REFUSAL_TEMPLATES])
    templates, naturals = np.vstack([stock, emb[is_t]]), emb[~is_t]
    t_sim = emb @ templates.T
    n_sim = emb @ naturals.T
    t_idx, n_idx = np.flatnonzero(is_t), np.flatnonzero(~is_t)
    t_sim[t_idx, len(stock) + np.arange(len(t_idx))] = -1.0  # leave each refusal's own skeleton out
    n_sim[n_idx, np.arange(len(n_idx))] = -1.0
    runs = np.array([quoted_run(r.prompt, r.response) for r in rows])
    x = features(t_sim.max(1), n_sim.max(1), runs)
    lr = LogisticRegression(C=10.0).fit(x, is_t)
    meta = {"encoder": enc.name or DEFAULT_ENCODER, "source": "data/judge_labels train part",
            "n_template": int(is_t.sum()), "n_natural": int((~is_t).sum()), "n_stock": len(stock),
            "features": ["template_bank_sim", "natural_bank_sim", "difference", "quoted_run/10"], "C": 10.0,
            "decision": "rigid when the probability of a template is >= 0.5"}
    model = RigidityModel(templates, naturals, lr.coef_[0], float(lr.intercept_[0]), meta)
    model.save(out)
    if progress:
        progress(f"rigidity: {meta['n_template']} template and {meta['n_natural']} natural training refusals; wrote {out}")
    return model
