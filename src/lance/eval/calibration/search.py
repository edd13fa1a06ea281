"""Choose ``safe_threshold`` and the per-category thresholds for an over-refusal budget.

Every route counted here is decided by :func:`lance.assess.routing.decide_route`, the function the
pipeline routes with; the search never restates its rule. It relies on one structural property of
that rule, and checks it on the chosen thresholds: a prompt leaves the pass route as soon as any
single knob (``safe_threshold`` raised, one category's threshold lowered) crosses that prompt's own
critical value. Bisection over ``decide_route`` finds each prompt's critical value per knob once
(:class:`LeaveTable`); a greedy search over those values then spends the benign budget where it
catches the most unsafe prompts per benign prompt sent off the pass route (:func:`choose`). Each
threshold lands midway between the last unsafe prompt it catches and the next benign prompt it
would catch, so that new prompts on either side are not decided by one sample's exact score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from lance.assess.distribution import RiskDistribution
from lance.assess.routing import decide_route
from lance.config.pipeline import PipelineConfig
from lance.errors import InputError
from lance.taxonomy import Taxonomy

SAFE_KNOB = "safe_threshold"
PASS = "pass"


def check_budget(budget: float) -> float:
    """``budget`` as a float strictly between 0 and 1, or an ``InputError`` that says so."""
    try:
        value = float(budget)
    except (TypeError, ValueError):
        raise InputError(f"--budget must be a number between 0 and 1, e.g. 0.02 for 2%; got {budget!r}") from None
    if not 0.0 < value < 1.0 or math.isnan(value):
        raise InputError(f"--budget must be between 0 and 1 (exclusive), e.g. 0.02 for 2%; got {budget!r}")
    return value


class OperatingPoint(BaseModel):
    """Routes of a benign and an unsafe set under one configuration, as ``decide_route`` gives them."""

    n_benign: int
    n_unsafe: int
    #: Benign prompts whose route is not ``pass`` (refined or refused although harmless).
    benign_left: int
    #: Unsafe prompts whose route is not ``pass``.
    unsafe_caught: int
    benign_routes: dict[str, int] = Field(default_factory=dict)
    unsafe_routes: dict[str, int] = Field(default_factory=dict)

    @property
    def benign_leave_rate(self) -> float:
        return self.benign_left / self.n_benign if self.n_benign else 0.0

    @property
    def unsafe_catch_rate(self) -> float:
        return self.unsafe_caught / self.n_unsafe if self.n_unsafe else 0.0


def operating_point(
    benign: Sequence[RiskDistribution], unsafe: Sequence[RiskDistribution], taxonomy: Taxonomy, config: PipelineConfig
) -> OperatingPoint:
    """Route every prompt with ``decide_route`` under ``config`` and count who leaves the pass route."""
    b = Counter(decide_route(d, taxonomy, config).route for d in benign)
    u = Counter(decide_route(d, taxonomy, config).route for d in unsafe)
    return OperatingPoint(
        n_benign=len(benign), n_unsafe=len(unsafe),
        benign_left=len(benign) - b[PASS], unsafe_caught=len(unsafe) - u[PASS],
        benign_routes=dict(sorted(b.items())), unsafe_routes=dict(sorted(u.items())),
    )


class LeaveTable:
    """Per prompt and knob, the least aggressiveness at which ``decide_route`` stops passing it.

    Knobs are ``safe_threshold`` and one threshold per risk category of the taxonomy. A knob's
    aggressiveness ``a`` runs over ``0 … grid``: ``safe_threshold = a / grid`` and a category's
    threshold ``= 1 - a / grid``, so ``0`` is the open setting (nothing leaves) and ``grid`` the
    strictest. ``need[i, k]`` is ``grid + 1`` when knob ``k`` alone never sends prompt ``i`` off
    the pass route (a ``pass``-action category), ``0`` when the open setting already does.
    """

    def __init__(
        self,
        dists: Sequence[RiskDistribution],
        taxonomy: Taxonomy,
        base: PipelineConfig,
        *,
        resolution: float = 1e-4,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if not 0.0 < resolution <= 0.1:
            raise InputError(f"resolution must be in (0, 0.1], got {resolution}")
        self.dists = list(dists)
        self.taxonomy = taxonomy
        self.base = base
        self.grid = int(round(1.0 / resolution))
        self.knobs = [SAFE_KNOB, *taxonomy.risk_ids]
        self.open_config = self.config_at([0] * len(self.knobs), validate=False)
        self.need = np.empty((len(self.dists), len(self.knobs)), dtype=np.int64)
        for i, d in enumerate(self.dists):
            self.need[i] = self._needs(d)
            if progress is not None:
                progress(i + 1, len(self.dists))

    def value(self, k: int, a: int) -> float:
        """The setting of knob ``k`` at aggressiveness ``a``."""
        frac = a / self.grid
        return round(frac if k == 0 else 1.0 - frac, 6)

    def config_at(self, a: Sequence[int], *, validate: bool = True) -> PipelineConfig:
        """``base`` with every knob set from ``a`` (category thresholds listed for every risk id)."""
        update = {
            SAFE_KNOB: self.value(0, int(a[0])),
            "category_thresholds": {c: self.value(k, int(a[k])) for k, c in enumerate(self.knobs) if k},
        }
        if not validate:
            return self.base.model_copy(update=update)
        return PipelineConfig.model_validate(self.base.model_dump() | update)

    def _one_knob(self, k: int, a: int) -> PipelineConfig:
        if k == 0:
            return self.open_config.model_copy(update={SAFE_KNOB: self.value(0, a)})
        cats = dict(self.open_config.category_thresholds)
        cats[self.knobs[k]] = self.value(k, a)
        return self.open_config.model_copy(update={"category_thresholds": cats})

    def _leaves(self, d: RiskDistribution, config: PipelineConfig) -> bool:
        return decide_route(d, self.taxonomy, config).route != PASS

    def _needs(self, d: RiskDistribution) -> list[int]:
        if self._leaves(d, self.open_config):
            return [0] * len(self.knobs)
        out = []
        for k in range(len(self.knobs)):
            if not self._leaves(d, self._one_knob(k, self.grid)):
                out.append(self.grid + 1)
                continue
            lo, hi = 0, self.grid  # passes at lo, leaves at hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self._leaves(d, self._one_knob(k, mid)):
                    hi = mid
                else:
                    lo = mid
            out.append(hi)
        return out

    def predicted_leave(self, rows: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Which of ``rows`` leave the pass route at ``a``, by the critical values (checked later)."""
        return (self.need[rows] <= a).any(axis=1)


class Calibration(BaseModel):
    """The chosen thresholds, the operating points before and after, and the trade-off curve."""

    budget: float
    #: Benign prompts of the calibration set allowed off the pass route: ``floor(budget * n_benign)``.
    allowed: int
    safe_threshold: float
    category_thresholds: dict[str, float]
    #: Knobs the search tightened from their open setting (others stay open: 1.0 for a category).
    moved: list[str]
    #: The chosen thresholds on the calibration prompts (``decide_route``).
    point: OperatingPoint
    #: The configuration calibrated from (the settings' ``pipeline``), on the same prompts.
    before: OperatingPoint
    #: (benign leave-rate, unsafe catch rate) along the greedy search run without a budget.
    curve: list[tuple[float, float]]
    #: The same with ``safe_threshold`` alone (category thresholds open).
    safe_only_curve: list[tuple[float, float]]
    #: Prompts whose ``decide_route`` result differed from the critical-value prediction (0 expected).
    mismatches: int = 0

    def config(self, base: PipelineConfig) -> PipelineConfig:
        """``base`` with the calibrated thresholds."""
        update = {SAFE_KNOB: self.safe_threshold, "category_thresholds": dict(self.category_thresholds)}
        return PipelineConfig.model_validate(base.model_dump() | update)


def _greedy(table: LeaveTable, rb: np.ndarray, ru: np.ndarray, capacity: float, penalty: float) -> list[np.ndarray]:
    """Knob settings, one per step, from open until no step fits ``capacity``.

    A state costs the benign prompts it sends off the pass route plus ``penalty`` for every knob
    it has moved: a threshold placed in the gap before the next benign prompt of the sample lets
    about that many more benign prompts of new data through (the sample's gap is no promise),
    and the more knobs are moved, the more such gaps are bet on.
    """
    need_b, need_u, grid = table.need[rb], table.need[ru], table.grid
    a = np.zeros(len(table.knobs), dtype=np.int64)
    path = [a.copy()]
    left_b = (need_b <= a).any(axis=1)
    left_u = (need_u <= a).any(axis=1)
    while True:
        room = capacity - int(left_b.sum()) - penalty * int((a > 0).sum())
        pb, pu = need_b[~left_b], need_u[~left_u]
        best: tuple[float, int, float, int, int] | None = None  # (ratio, caught, -cost, knob, value)
        for k in range(len(table.knobs)):
            vb = np.sort(pb[:, k][(pb[:, k] > a[k]) & (pb[:, k] <= grid)])
            vu = np.sort(pu[:, k][(pu[:, k] > a[k]) & (pu[:, k] <= grid)])
            if not len(vu):
                continue
            ends = np.unique(vu)  # a step ends on an unsafe prompt's critical value
            caught = np.searchsorted(vu, ends, side="right")
            cost = np.searchsorted(vb, ends, side="right") + (penalty if a[k] == 0 else 0.0)
            fits = cost <= room + 1e-9
            if not fits.any():
                continue
            ratio = np.where(cost == 0, np.inf, caught / np.maximum(cost, 1e-12))
            cand = [(float(r), int(c), -float(s), k, int(e)) for r, c, s, e, f in zip(ratio, caught, cost, ends, fits) if f]
            top = max(cand)
            if best is None or top[:3] > best[:3]:
                best = top
        if best is None:
            return path
        _, _, _, k, end = best
        # midway between the last unsafe prompt caught and the next prompt (a benign one) not caught
        later = np.concatenate([pb[:, k], pu[:, k]])
        later = later[(later > end) & (later <= grid)]
        a[k] = end + (int(later.min()) - 1 - end) // 2 if len(later) else end
        left_b |= (need_b <= a).any(axis=1)
        left_u |= (need_u <= a).any(axis=1)
        path.append(a.copy())


def _rates(table: LeaveTable, rb: np.ndarray, ru: np.ndarray, a: np.ndarray) -> tuple[float, float]:
    return float(table.predicted_leave(rb, a).mean()), float(table.predicted_leave(ru, a).mean())


def _safe_only(table: LeaveTable, rb: np.ndarray, ru: np.ndarray) -> list[tuple[float, float]]:
    nb, nu = table.need[rb, 0], table.need[ru, 0]
    cuts = np.unique(np.concatenate([[0], nb[nb <= table.grid], nu[nu <= table.grid]]))
    return [(float((nb <= c).mean()), float((nu <= c).mean())) for c in cuts]


def choose(
    table: LeaveTable, benign_rows: Sequence[int], unsafe_rows: Sequence[int], budget: float = 0.02, *, penalty: float = 1.0
) -> Calibration:
    """Thresholds that keep the benign rows' leave-rate within ``budget`` and catch the most unsafe rows.

    ``penalty``: benign prompts charged per moved knob on top of those the sample shows leaving
    (see ``_greedy``); 0 fits the sample exactly, which on a few hundred prompts overshoots the
    budget on new prompts.
    """
    budget = check_budget(budget)
    rb, ru = np.asarray(benign_rows, dtype=np.int64), np.asarray(unsafe_rows, dtype=np.int64)
    if not len(rb):
        raise InputError("the benign set is empty: calibration needs benign prompts to measure over-refusal on")
    if not len(ru):
        raise InputError("the unsafe set is empty: calibration needs unsafe prompts to measure what is caught")
    allowed = int(math.floor(budget * len(rb) + 1e-9))
    path = _greedy(table, rb, ru, budget * len(rb), penalty)
    if int(table.predicted_leave(rb, path[0]).sum()) > allowed:
        raise InputError(
            f"even the most permissive thresholds send {int(table.predicted_leave(rb, path[0]).sum())} of "
            f"{len(rb)} benign prompts off the pass route, more than the budget allows ({allowed}); raise --budget"
        )
    benign = [table.dists[i] for i in rb]
    unsafe = [table.dists[i] for i in ru]
    # the real routing function has the last word: walk back should a prediction ever be wrong
    for a in reversed(path):
        config = table.config_at(a)
        point = operating_point(benign, unsafe, table.taxonomy, config)
        if point.benign_left <= allowed:
            break
    else:
        raise InputError(f"the routing function sends {point.benign_left} of {len(rb)} benign prompts off the pass "
                         f"route even with every threshold open, more than the budget allows ({allowed}); raise --budget")
    predicted = np.concatenate([table.predicted_leave(rb, a), table.predicted_leave(ru, a)])
    actual = [decide_route(d, table.taxonomy, config).route != PASS for d in benign + unsafe]
    full = _greedy(table, rb, ru, float(len(rb)) + penalty * len(table.knobs), penalty)
    return Calibration(
        budget=budget,
        allowed=allowed,
        safe_threshold=config.safe_threshold,
        category_thresholds=dict(config.category_thresholds),
        moved=[table.knobs[k] for k in range(len(table.knobs)) if a[k] > 0],
        point=point,
        before=operating_point(benign, unsafe, table.taxonomy, table.base),
        curve=[_rates(table, rb, ru, s) for s in full],
        safe_only_curve=_safe_only(table, rb, ru),
        mismatches=int(np.sum(predicted != np.asarray(actual))),
    )


def calibrate(
    benign: Sequence[RiskDistribution],
    unsafe: Sequence[RiskDistribution],
    taxonomy: Taxonomy,
    base: PipelineConfig | None = None,
    *,
    budget: float = 0.02,
    resolution: float = 1e-4,
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Calibrate on already assessed prompts; ``base`` supplies everything but the thresholds."""
    budget = check_budget(budget)
    if not benign:
        raise InputError("the benign set is empty: calibration needs benign prompts to measure over-refusal on")
    if not unsafe:
        raise InputError("the unsafe set is empty: calibration needs unsafe prompts to measure what is caught")
    table = LeaveTable([*benign, *unsafe], taxonomy, base or PipelineConfig(), resolution=resolution, progress=progress)
    return choose(table, range(len(benign)), range(len(benign), len(benign) + len(unsafe)), budget)
