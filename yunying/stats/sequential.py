"""Always-valid confidence sequences: intervals and p-values that stay valid under peeking.

The normal-mixture confidence sequence of Waudby-Smith et al., "Time-uniform central limit
theory and asymptotic confidence sequences" (arXiv 2103.06476v7), in the form GrowthBook's
engine uses:

* mixing parameter (eq. 161) ``ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*)``, where ``N*`` is the
  tuning parameter: the total sample size at which the sequence is tightest;
* with ``N = n_A + n_B`` and ``s² = Var(estimate) · N`` (the per-unit variance of the effect),
  half-width (eq. 9) ``√s² · √(2 (N ρ² + 1) ln(√(N ρ² + 1) / α) / (N ρ)²)`` around the same
  point estimate as the fixed-horizon test;
* p-value (eq. 155) ``min(1, 1/E)`` with the e-value
  ``E = exp(ρ² S / (2 (N ρ² + 1))) / √(N ρ² + 1)`` and ``S = estimate² · N / Var(estimate)``.

Stopping the first time the interval excludes 0 (or the p-value drops below α) keeps the
false-positive rate at most α however often one looks. The price is a wider interval than the
fixed-horizon one at every N.
"""

from __future__ import annotations

import numpy as np

from yunying.stats.moments import Number


def mixing_rho(alpha: float, tuning: float) -> float:
    """ρ of eq. 161 for error rate ``alpha`` and tuning parameter ``N*`` (``tuning``)."""
    log_alpha = np.log(alpha)
    return float(np.sqrt((-2 * log_alpha + np.log(-2 * log_alpha + 1)) / tuning))


def confidence_sequence(
    estimate: Number, variance: Number, n_total: Number, alpha: float, tuning: float
) -> tuple[Number, Number, Number]:
    """Always-valid p-value and interval ``(p, lower, upper)`` of an effect after ``n_total`` units."""
    rho = mixing_rho(alpha, tuning)
    n_rho2_1 = n_total * rho**2 + 1
    s2 = variance * n_total
    width = np.sqrt(s2) * np.sqrt(2 * n_rho2_1 * np.log(np.sqrt(n_rho2_1) / alpha) / (n_total * rho) ** 2)
    st2 = estimate**2 * n_total / variance
    log_evalue = rho**2 * st2 / (2 * n_rho2_1) - 0.5 * np.log(n_rho2_1)
    p_value = np.minimum(1.0, np.exp(-log_evalue))
    return p_value, estimate - width, estimate + width
