"""Means, variances and covariances from sums: the formulas every test in this package rests on.

Each function takes plain floats or numpy arrays (one entry per simulated or real experiment)
and returns the same shape, so the scalar analysis of one comparison and the vectorised
simulations in the tests run the same lines. Callers check ``n`` first: these functions do not
guard against division by zero.

Conventions (GrowthBook's engine uses the same):

* the variance of a metric's per-unit values is the unbiased one, ``(Σx² − (Σx)²/n) / (n − 1)``;
* a 0/1 metric (a proportion ``p``) has variance ``p (1 − p)``, without the ``n / (n − 1)`` factor;
* a covariance is always the unbiased ``(Σxy − Σx Σy / n) / (n − 1)``, even between two 0/1
  metrics.
"""

from __future__ import annotations

from typing import Any

from scipy.special import ndtri  # type: ignore[import-untyped]

Z_975 = float(ndtri(0.975))  # the 95% two-sided normal quantile, 1.959963984540054

Number = Any  # a float or a numpy array of floats; the formulas broadcast


def sample_variance(n: Number, total: Number, sum_squares: Number) -> Number:
    """Unbiased variance of per-unit values from their count, sum and sum of squares (n ≥ 2)."""
    return (sum_squares - total * total / n) / (n - 1)


def proportion_variance(rate: Number) -> Number:
    """Variance ``p (1 − p)`` of a 0/1 metric whose mean is ``rate``."""
    return rate * (1 - rate)


def sample_covariance(n: Number, sum_x: Number, sum_y: Number, sum_xy: Number) -> Number:
    """Unbiased covariance of two per-unit values from their sums and cross sum (n ≥ 2)."""
    return (sum_xy - sum_x * sum_y / n) / (n - 1)


def ratio_variance(mean_m: Number, var_m: Number, mean_d: Number, var_d: Number, cov_md: Number) -> Number:
    """Delta-method variance of M / D from the means, variances and covariance of M and D.

    ``Var(M/D) ≈ Var M / μ_D² − 2 Cov(M, D) μ_M / μ_D³ + μ_M² Var D / μ_D⁴`` (first-order Taylor
    expansion around the means). Used for ratio metrics (M, D per-unit sums) and, with the
    variances of two arm means and ``cov_md = 0``, for the relative difference of two arms.
    """
    return var_m / mean_d**2 - 2 * cov_md * mean_m / mean_d**3 + mean_m**2 * var_d / mean_d**4


def quantile_variance(n: Number, n_star: Number, lower: Number, upper: Number) -> Number:
    """Per-unit variance of a sample quantile from its 95% order-statistic interval [lower, upper].

    The interval is about ±z₀.₉₇₅ standard errors wide, so its half-width over z₀.₉₇₅ is the
    standard error; scaled back to a per-unit variance (what the two-arm formulas divide by n):
    ``(n* / n) · (n − 1) · ((upper − lower) / (2 z₀.₉₇₅))²``, with ``n*`` the sample size the
    interval was read from (= n for a quantile over units).
    """
    return (n_star / n) * (n - 1) * ((upper - lower) / (2 * Z_975)) ** 2
