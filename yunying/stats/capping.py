"""Capping (winsorisation, 截尾) of heavy-tailed per-unit values before they are summed.

A few whales can make a revenue metric's variance so large that no test ever concludes.
Capping replaces each unit's value above a cap by the cap (and, optionally, below a floor by
the floor) *before* the sums of the sufficient statistics are taken. The experiments layer does
this in SQL (``LEAST(GREATEST(value, lower), upper)`` per unit, the percentile from
``quantile_cont`` over the units of all arms together); these functions are the same rules on
numpy arrays, for tests and for data already in memory. Capping changes what is estimated (the
mean of the capped metric), so the cap must be chosen without looking at the arms separately.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def cap_values(values: ArrayLike, upper: float | None, lower: float | None = None) -> np.ndarray:
    """Per-unit values clipped to ``[lower, upper]`` (either bound may be None: no bound)."""
    if upper is not None and lower is not None and lower > upper:
        raise ValueError("lower cap above upper cap")
    return np.clip(np.asarray(values, dtype=float), lower, upper)


def percentile_threshold(values: ArrayLike, q: float, ignore_zeros: bool = False) -> float:
    """The ``q``-quantile (0 < q ≤ 1) of the values, linear interpolation between order statistics.

    The interpolation is SQL's ``PERCENTILE_CONT`` / DuckDB's ``quantile_cont`` (numpy's default):
    position ``q (n − 1)`` in the sorted values, counted from 0. ``ignore_zeros`` takes the
    quantile over the non-zero values only (GrowthBook's option for metrics where most users
    have 0, whose 99th percentile would otherwise be 0 too). NaN when there are no values.
    """
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    array = np.asarray(values, dtype=float)
    if ignore_zeros:
        array = array[array != 0]
    return float(np.quantile(array, q)) if array.size else float("nan")


def percentile_cap(values: ArrayLike, q: float, ignore_zeros: bool = False) -> np.ndarray:
    """Values capped from above at their own ``q``-quantile (``percentile_threshold``)."""
    threshold = percentile_threshold(values, q, ignore_zeros)
    return cap_values(values, None if np.isnan(threshold) else threshold)
