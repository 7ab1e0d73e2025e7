"""Bayesian comparison: a Gaussian prior on the effect, a normal likelihood, a normal posterior.

The data enter as the effect's estimate ``d`` and its variance ``v`` (``effect.difference``:
the same numbers the frequentist test uses). With a flat prior the posterior is ``N(d, v)``;
with a proper prior ``N(μ₀, σ₀²)`` (in the unit of the difference) it is the precision-weighted
``N((d/v + μ₀/σ₀²) / (1/v + 1/σ₀²), 1 / (1/v + 1/σ₀²))``.

From the posterior ``N(μ, σ²)`` of the effect Δ (variant minus baseline):

* chance to win (胜率) ``P(Δ > 0) = Φ(μ/σ)``, or ``P(Δ < 0)`` when lower is better;
* credible interval ``μ ± z₁₋α/₂ σ``;
* risk (expected loss, 风险) of shipping the variant ``E[max(−Δ, 0)]`` and of keeping the
  baseline ``E[max(Δ, 0)]`` (swapped when lower is better): what one gives up, on average over
  the posterior, by making that choice when it is the wrong one. Both are ≥ 0, in the unit of
  the difference.
"""

from __future__ import annotations

import numpy as np
from scipy import special  # type: ignore[import-untyped]
from scipy import stats as sps  # type: ignore[import-untyped]

from yunying.stats.moments import Number
from yunying.stats.options import Prior

_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))


def posterior(estimate: Number, variance: Number, prior: Prior) -> tuple[Number, Number]:
    """Posterior mean and standard deviation of the effect."""
    if not prior.proper:
        return estimate, np.sqrt(variance)
    prior_variance = prior.stddev**2
    precision = 1 / variance + 1 / prior_variance
    mean = (estimate / variance + prior.mean / prior_variance) / precision
    return mean, np.sqrt(1 / precision)


def chance_to_win(mean: Number, stddev: Number, inverse: bool) -> Number:
    """``P(Δ > 0)`` under ``N(mean, stddev²)``; ``P(Δ < 0)`` when ``inverse``."""
    above = special.ndtr(mean / stddev)
    return 1 - above if inverse else above


def credible_interval(mean: Number, stddev: Number, alpha: float) -> tuple[Number, Number]:
    """Equal-tailed 1 − alpha interval of ``N(mean, stddev²)``."""
    z = sps.norm.ppf(1 - alpha / 2)
    return mean - z * stddev, mean + z * stddev


def positive_part_mean(mean: Number, stddev: Number) -> Number:
    """``E[max(X, 0)]`` for ``X ~ N(mean, stddev²)``.

    Written as ``P(X > 0) · E[X | X > 0]`` with the inverse Mills ratio from ``erfcx``, which
    stays accurate far in the tail (where ``μΦ(μ/σ) + σφ(μ/σ)`` cancels to noise).
    """
    a = -mean / stddev
    inverse_mills = _SQRT_2_OVER_PI / special.erfcx(a / np.sqrt(2))
    conditional = stddev * (inverse_mills - a)
    return np.maximum(special.ndtr(-a) * conditional, 0.0)


def risks(mean: Number, stddev: Number, inverse: bool) -> tuple[Number, Number]:
    """``(risk of shipping the variant, risk of keeping the baseline)``, both ≥ 0."""
    loss_if_variant = positive_part_mean(-mean, stddev)
    loss_if_baseline = positive_part_mean(mean, stddev)
    if inverse:
        return loss_if_baseline, loss_if_variant
    return loss_if_variant, loss_if_baseline
