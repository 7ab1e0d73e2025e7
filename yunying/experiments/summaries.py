"""Per-user metric values -> one ``yunying.stats`` statistic per cell (breakdown group × arm).

Definitions (docs/experiments.md, 'Metrics'): a conversion is 0/1 (``Proportion``); a count or
sum is a per-user number (``Moments``), capped first when the metric says so; with CUPED both
get their pre-period covariate (``Adjusted``); a mean or ratio is two per-user sums
(``Ratio``, numerator capped); a quantile takes the users' values of its cell
(``yunying.stats.quantile_statistic``). Capping thresholds are pooled over all included users
(every arm and group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yunying.experiments.definition import (
    CUPED_KINDS,
    Capping,
    ConversionMetric,
    Metric,
    QuantileMetric,
)
from yunying.experiments.metric_values import PartValues, metric_parts
from yunying.stats import Adjusted, Moments, Proportion, Quantile, Ratio, Statistic, quantile_statistic
from yunying.stats.capping import percentile_threshold


@dataclass(frozen=True)
class Cells:
    """Where each user's numbers go: ``index`` = group × arms + arm for an included user, ``size``
    (a cell that is never reported) for an excluded one."""

    index: np.ndarray
    n_groups: int
    n_arms: int

    @property
    def size(self) -> int:
        return self.n_groups * self.n_arms

    @property
    def included(self) -> np.ndarray:
        return self.index < self.size

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.index, weights=values, minlength=self.size + 1)[:self.size]

    def counts(self) -> np.ndarray:
        return np.bincount(self.index, minlength=self.size + 1)[:self.size]


@dataclass(frozen=True)
class MetricStatistics:
    """One statistic per cell (in cell order) and the cap applied (None: not capped)."""

    cells: list[Statistic]
    cap: float | None = None
    pre_cap: float | None = None


def cap_of(capping: Capping | None, values: np.ndarray, included: np.ndarray) -> float | None:
    """The cap for these per-user values: the fixed value, or the percentile of the included users'."""
    if capping is None:
        return None
    if capping.value is not None:
        return capping.value
    assert capping.percentile is not None
    pooled = values[included]
    threshold = percentile_threshold(pooled, capping.percentile) if pooled.size else float("nan")
    return None if np.isnan(threshold) else threshold


def _capped(values: np.ndarray, cap: float | None) -> np.ndarray:
    return values if cap is None else np.minimum(values, cap)


def _moments(cells: Cells, n: np.ndarray, x: np.ndarray, proportion: bool) -> list[Moments | Proportion]:
    sums = cells.total(x)
    if proportion:
        return [Proportion(int(n[c]), float(sums[c])) for c in range(cells.size)]
    squares = cells.total(x * x)
    return [Moments(int(n[c]), float(sums[c]), float(squares[c])) for c in range(cells.size)]


def _quantiles(metric: QuantileMetric, cells: Cells, x: np.ndarray) -> list[Statistic]:
    kept = x != 0 if metric.ignore_zeros else np.ones(x.size, bool)
    order = np.argsort(cells.index, kind="stable")
    bounds = np.searchsorted(cells.index[order], np.arange(cells.size + 1))
    out: list[Statistic] = []
    for c in range(cells.size):
        members = order[bounds[c]:bounds[c + 1]]
        values = x[members[kept[members]]]
        out.append(quantile_statistic(values, metric.level) if values.size
                   else Quantile(0, 0, metric.level, 0.0, 0.0, 0.0))
    return out


def metric_statistics(metric: Metric, values: PartValues, cells: Cells, cuped: bool) -> MetricStatistics:
    """The statistics of ``metric`` per cell (excluded users' values are never counted)."""
    parts = metric_parts(metric)
    included = cells.included
    post = [np.ascontiguousarray(values.post[p]) for p in parts]
    n = cells.counts()
    if isinstance(metric, QuantileMetric):
        return MetricStatistics(_quantiles(metric, cells, post[0]))
    capping = getattr(metric, "capping", None)
    cap = cap_of(capping, post[0], included)
    x = _capped(post[0], cap)
    conversion = isinstance(metric, ConversionMetric)
    if conversion:
        x = (x > 0).astype(np.float64)
    if len(parts) == 2:
        den = post[1]
        products = cells.total(x * den)
        cells_stats: list[Statistic] = [
            Ratio(a, b, float(products[c])) for c, (a, b) in
            enumerate(zip(_moments(cells, n, x, False), _moments(cells, n, den, False), strict=True))]
        return MetricStatistics(cells_stats, cap)
    main = _moments(cells, n, x, conversion)
    if not (cuped and metric.kind in CUPED_KINDS):
        return MetricStatistics(list(main), cap)
    pre_raw = np.ascontiguousarray(values.pre[parts[0]])
    pre_cap = cap_of(capping, pre_raw, included)
    pre = _capped(pre_raw, pre_cap)
    if conversion:
        pre = (pre > 0).astype(np.float64)
    products = cells.total(x * pre)
    covariates = _moments(cells, n, pre, conversion)
    return MetricStatistics([Adjusted(a, b, float(products[c]))
                             for c, (a, b) in enumerate(zip(main, covariates, strict=True))], cap, pre_cap)
