"""Sufficient statistics of one arm: all that the tests in this package ever see.

An arm is summarised by counts and sums over its units (users), never by the raw values, so
the same numbers can come from DuckDB, Spark, a CSV of another tool or a person typing them
in. Every class is a frozen dataclass; the experiments layer builds them, ``compare`` reads
them. Variances use the unbiased (n - 1) form, except a proportion's, which is p(1 - p)
(the convention of GrowthBook's engine, which these tests agree with).
"""

from __future__ import annotations

from dataclasses import dataclass

from yunying.stats import moments

_NAN = float("nan")


@dataclass(frozen=True)
class Moments:
    """Per-unit values of a metric: how many units, their sum and their sum of squares."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        """Sum / n; NaN for no units."""
        return self.sum / self.n if self.n > 0 else _NAN

    @property
    def variance(self) -> float:
        """Unbiased variance of the per-unit values; NaN below two units."""
        return float(moments.sample_variance(self.n, self.sum, self.sum_squares)) if self.n > 1 else _NAN


@dataclass(frozen=True)
class Proportion:
    """A 0/1 metric (converted or not): units and how many of them converted."""

    n: int
    sum: float

    @property
    def sum_squares(self) -> float:
        """A 0/1 value is its own square."""
        return self.sum

    @property
    def mean(self) -> float:
        """The conversion rate sum / n; NaN for no units."""
        return self.sum / self.n if self.n > 0 else _NAN

    @property
    def variance(self) -> float:
        """``p (1 − p)`` (not the unbiased form); NaN for no units."""
        return float(moments.proportion_variance(self.mean))


@dataclass(frozen=True)
class Ratio:
    """Sum of a numerator over sum of a denominator, both per unit (e.g. revenue per session).

    ``sum_products`` is the sum over units of numerator x denominator (the cross sum the delta
    method needs); both parts count the same ``n`` units.
    """

    numerator: Moments | Proportion
    denominator: Moments | Proportion
    sum_products: float

    @property
    def n(self) -> int:
        return self.numerator.n

    @property
    def mean(self) -> float:
        """Σ numerator / Σ denominator; NaN when the denominator sums to 0."""
        return self.numerator.sum / self.denominator.sum if self.denominator.sum != 0 else _NAN

    @property
    def covariance(self) -> float:
        """Unbiased covariance of numerator and denominator per unit; NaN below two units."""
        if self.n < 2:
            return _NAN
        return float(moments.sample_covariance(self.n, self.numerator.sum, self.denominator.sum,
                                               self.sum_products))

    @property
    def variance(self) -> float:
        """Per-unit variance of the ratio by the delta method (divide by n for the mean's)."""
        if self.n < 2 or self.denominator.sum == 0:
            return _NAN
        return float(moments.ratio_variance(self.numerator.mean, self.numerator.variance,
                                            self.denominator.mean, self.denominator.variance,
                                            self.covariance))


@dataclass(frozen=True)
class Adjusted:
    """A metric with its pre-period covariate, for CUPED: ``sum_products`` = sum of post x pre."""

    post: Moments | Proportion
    pre: Moments | Proportion
    sum_products: float

    @property
    def n(self) -> int:
        return self.post.n

    @property
    def mean(self) -> float:
        """The unadjusted mean of the metric (what the arm really measured)."""
        return self.post.mean

    @property
    def variance(self) -> float:
        """The unadjusted per-unit variance of the metric."""
        return self.post.variance

    @property
    def covariance(self) -> float:
        """Unbiased covariance of post and pre per unit; NaN below two units."""
        if self.n < 2:
            return _NAN
        return float(moments.sample_covariance(self.n, self.post.sum, self.pre.sum, self.sum_products))

    def adjusted_mean(self, theta: float) -> float:
        """``mean(post) − θ · mean(pre)``."""
        return self.post.mean - theta * self.pre.mean

    def adjusted_variance(self, theta: float) -> float:
        """Per-unit variance of ``post − θ · pre``: ``Var post + θ² Var pre − 2θ Cov``."""
        if self.n < 2:
            return _NAN
        return self.post.variance + theta * theta * self.pre.variance - 2 * theta * self.covariance


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

    @property
    def mean(self) -> float:
        """The quantile estimate plays the part of the mean in the two-arm formulas."""
        return self.estimate

    @property
    def too_few_units(self) -> bool:
        """True when the normal approximation of the rank interval runs off the sample.

        That is when ``n ≤ z² ν / (1 − ν)`` or ``n ≤ z² (1 − ν) / ν`` (``z`` = z₀.₉₇₅, ν = ``level``):
        the interval ``ν ± z √(ν(1 − ν)/n)`` would reach past level 0 or 1.
        """
        z2 = moments.Z_975**2
        nu = self.level
        return self.n <= z2 * nu / (1 - nu) or self.n <= z2 * (1 - nu) / nu

    @property
    def variance(self) -> float:
        """Per-unit variance implied by the order-statistic interval (GrowthBook's rules).

        ``moments.quantile_variance`` below 100 units; from 100 units on at least 1e-5, so that a
        large arm whose interval collapsed to one value (many ties) still gets a finite interval.
        A collapsed interval below 1,000 units gives 0 (no comparison: ``ZERO_VARIANCE``).
        """
        if self.n < 2:
            return _NAN
        variance = float(moments.quantile_variance(self.n, self.n_star, self.lower, self.upper))
        if variance <= 0 and self.n < 1000:
            return 0.0
        return variance if self.n < 100 else max(variance, 1e-5)


Statistic = Moments | Proportion | Ratio | Adjusted | Quantile
