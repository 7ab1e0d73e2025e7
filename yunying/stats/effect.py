"""The difference between two arms and its variance, shared by every method.

An arm enters the tests as four numbers (floats, or numpy arrays of one entry per experiment):
its unit count ``n``, the ``mean`` being compared (CUPED-adjusted where that applies), the
``unadjusted_mean`` (what the arm really measured; the relative lift divides by it) and the
per-unit ``variance`` of the compared value (divide by ``n`` for the variance of the mean).
"""

from __future__ import annotations

from dataclasses import dataclass

from yunying.stats.moments import Number, ratio_variance


@dataclass(frozen=True)
class Arm:
    n: Number
    mean: Number
    unadjusted_mean: Number
    variance: Number


def difference(baseline: Arm, variant: Arm, relative: bool) -> tuple[Number, Number]:
    """Point estimate of the effect and the variance of that estimate.

    * absolute: ``m_B − m_A`` with variance ``v_A/n_A + v_B/n_B``;
    * relative: ``(m_B − m_A) / u_A`` with the delta-method variance of the ratio of the two
      unadjusted means, ``v_B/(u_A² n_B) + v_A u_B²/(u_A⁴ n_A)`` (``u`` = unadjusted means).
      Without CUPED ``m = u`` and this is the ratio ``m_B/m_A − 1``.
    """
    var_a = baseline.variance / baseline.n
    var_b = variant.variance / variant.n
    if relative:
        estimate = (variant.mean - baseline.mean) / baseline.unadjusted_mean
        return estimate, ratio_variance(variant.unadjusted_mean, var_b, baseline.unadjusted_mean, var_a, 0.0)
    return variant.mean - baseline.mean, var_a + var_b


def welch_dof(baseline: Arm, variant: Arm) -> Number:
    """Welch–Satterthwaite degrees of freedom of the two arms' per-unit variances.

    ``(v_A/n_A + v_B/n_B)² / (v_A²/(n_A²(n_A − 1)) + v_B²/(n_B²(n_B − 1)))``; used for the
    relative difference too (GrowthBook's convention).
    """
    se_a = baseline.variance / baseline.n
    se_b = variant.variance / variant.n
    return (se_a + se_b) ** 2 / (se_a**2 / (baseline.n - 1) + se_b**2 / (variant.n - 1))
