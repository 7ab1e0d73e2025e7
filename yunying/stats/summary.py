"""Sufficient statistics of one arm: all that the tests in this package ever see.

An arm is summarised by counts and sums over its units (users), never by the raw values, so
the same numbers can come from DuckDB, Spark, a CSV of another tool or a person typing them
in. Every class is a frozen dataclass; the experiments layer builds them, ``compare`` reads
them. Variances use the unbiased (n - 1) form, except a proportion's, which is p(1 - p)
(the convention of GrowthBook's engine, which these tests agree with).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Moments:
    """Per-unit values of a metric: how many units, their sum and their sum of squares."""

    n: int
    sum: float
    sum_squares: float


@dataclass(frozen=True)
class Proportion:
    """A 0/1 metric (converted or not): units and how many of them converted."""

    n: int
    sum: float


@dataclass(frozen=True)
class Ratio:
    """Sum of a numerator over sum of a denominator, both per unit (e.g. revenue per session).

    ``sum_products`` is the sum over units of numerator x denominator (the cross sum the delta
    method needs); both parts count the same ``n`` units.
    """

    numerator: Moments | Proportion
    denominator: Moments | Proportion
    sum_products: float


@dataclass(frozen=True)
class Adjusted:
    """A metric with its pre-period covariate, for CUPED: ``sum_products`` = sum of post x pre."""

    post: Moments | Proportion
    pre: Moments | Proportion
    sum_products: float


@dataclass(frozen=True)
class Quantile:
    """A quantile (``level`` 0.5 = median) of per-unit values with its order-statistic interval.

    ``lower`` / ``upper`` are the order statistics at ranks around ``level`` that bound a 95%
    interval of the quantile in a sample of ``n_star`` units (``n_star`` = ``n`` for unit-level
    quantiles).
    """

    n: int
    n_star: int
    level: float
    estimate: float
    lower: float
    upper: float


Statistic = Moments | Proportion | Ratio | Adjusted | Quantile
