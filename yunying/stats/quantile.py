"""Quantile metrics (p50, p90 …): which order statistics to fetch, and the statistic from raw values.

A quantile metric compares the ν-quantile of per-unit values between arms (e.g. the median
order value). Its variance comes from a distribution-free interval: in a sample of ``n``
units, the number of values below the true ν-quantile is Binomial(n, ν), so the order
statistics at the levels ``ν ± z₀.₉₇₅ √(ν(1 − ν)/n)`` bound a ~95% interval of the quantile.
``Quantile.variance`` turns that interval's width back into a per-unit variance (GrowthBook's
QuantileStatistic convention), after which the difference of two quantiles is tested like the
difference of two means (Welch, sequential or Bayesian).

The interval is always the 95% one (whatever the comparison's alpha): the variance formula
divides its width by ``2 z₀.₉₇₅``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from yunying.stats.moments import Z_975
from yunying.stats.summary import Quantile


def _check(n: int, level: float) -> None:
    if n < 1:
        raise ValueError("n must be at least 1")
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")


def quantile_interval_levels(n: int, level: float) -> tuple[float, float]:
    """The levels ``ν ± z₀.₉₇₅ √(ν(1 − ν)/n)`` of the interval's ends, clipped to [0, 1]."""
    _check(n, level)
    half = Z_975 * math.sqrt(level * (1 - level) / n)
    return max(0.0, level - half), min(1.0, level + half)


def rank(n: int, level: float) -> int:
    """1-based rank of the ``level`` quantile in ``n`` sorted values: ``ceil(n · level)`` in [1, n].

    The inverse of the empirical distribution function (the smallest value with at least a
    share ``level`` of the values at or below it): SQL's ``PERCENTILE_DISC``, numpy's
    ``method="inverted_cdf"``. A tiny tolerance keeps ``n · level`` that is an integer up to
    rounding (0.3 · 10) on that integer.
    """
    return min(n, max(1, math.ceil(n * level - 1e-9)))


def quantile_interval_ranks(n: int, level: float) -> tuple[int, int]:
    """1-based ranks (lower, upper) of the order statistics that bound the 95% interval.

    ``rank(n, ν ∓ z₀.₉₇₅ √(ν(1 − ν)/n))``: the experiments layer fetches the values at these
    ranks in each arm (with the estimate at ``rank(n, ν)``) to build a ``Quantile``.
    """
    lower, upper = quantile_interval_levels(n, level)
    return rank(n, lower), rank(n, upper)


def quantile_statistic(values: ArrayLike, level: float) -> Quantile:
    """The ``Quantile`` statistic of one arm's per-unit values (estimate and interval ends).

    The same rule the experiments layer applies in SQL, on an in-memory array.
    """
    array = np.sort(np.asarray(values, dtype=float))
    n = int(array.size)
    _check(n, level)
    low, high = quantile_interval_ranks(n, level)
    return Quantile(n=n, n_star=n, level=level, estimate=float(array[rank(n, level) - 1]),
                    lower=float(array[low - 1]), upper=float(array[high - 1]))
