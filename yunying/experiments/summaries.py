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
from yunying.experiments.kernels import cell_sums
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
    pooled = values if included.all() else values[included]
    threshold = percentile_threshold(pooled, capping.percentile) if pooled.size else float("nan")
    return None if np.isnan(threshold) else threshold


def _moments(n: float, total: float, squares: float, proportion: bool) -> Moments | Proportion:
    return Proportion(int(n), float(total)) if proportion else Moments(int(n), float(total), float(squares))


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
    x = values.post[parts[0]]
    if isinstance(metric, QuantileMetric):
        return MetricStatistics(_quantiles(metric, cells, np.ascontiguousarray(x)))
    capping = getattr(metric, "capping", None)
    cap = cap_of(capping, x, cells.included)
    no_cap = np.inf if cap is None else cap
    if len(parts) == 2:  # mean, ratio: numerator (capped) and denominator
        sums = cell_sums(cells.index, cells.size, x, values.post[parts[1]], no_cap, np.inf, False)
        return MetricStatistics([Ratio(_moments(*row[0:3], False), _moments(row[0], *row[3:5], False),
                                       float(row[5])) for row in sums], cap)
    conversion = isinstance(metric, ConversionMetric)
    if not (cuped and metric.kind in CUPED_KINDS):
        sums = cell_sums(cells.index, cells.size, x, x, no_cap, no_cap, conversion)
        return MetricStatistics([_moments(*row[0:3], conversion) for row in sums], cap)
    y = values.pre[parts[0]]
    pre_cap = cap_of(capping, y, cells.included)
    pre_limit = np.inf if pre_cap is None else pre_cap
    sums = cell_sums(cells.index, cells.size, x, y, no_cap, pre_limit, conversion)
    return MetricStatistics([Adjusted(_moments(*row[0:3], conversion),
                                      _moments(row[0], *row[3:5], conversion), float(row[5]))
                             for row in sums], cap, pre_cap)
