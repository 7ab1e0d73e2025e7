"""One comparison of two arms by the chosen method, on floats or on numpy arrays.

``compare`` calls this once with floats after its checks; the simulations in the tests call it
with arrays of many simulated experiments, so both run the same formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yunying.stats import bayesian
from yunying.stats.effect import Arm, difference, welch_dof
from yunying.stats.frequentist import t_test
from yunying.stats.moments import Number
from yunying.stats.options import Options
from yunying.stats.sequential import confidence_sequence


@dataclass(frozen=True)
class Evaluation:
    """The numbers of a comparison; p_value is None for Bayesian, the Bayesian ones otherwise."""

    estimate: Number
    stddev: Number
    lower: Number
    upper: Number
    p_value: Number | None = None
    chance_to_win: Number | None = None
    risk: Number | None = None
    risk_baseline: Number | None = None


def evaluate(baseline: Arm, variant: Arm, options: Options) -> Evaluation:
    """Estimate, interval and p-value (or chance to win and risks) of ``variant`` against ``baseline``."""
    estimate, variance = difference(baseline, variant, options.relative)
    if options.method == "frequentist":
        p_value, lower, upper = t_test(estimate, variance, welch_dof(baseline, variant), options.alpha)
        return Evaluation(estimate, np.sqrt(variance), lower, upper, p_value=p_value)
    if options.method == "sequential":
        p_value, lower, upper = confidence_sequence(
            estimate, variance, baseline.n + variant.n, options.alpha, options.sequential_tuning
        )
        return Evaluation(estimate, np.sqrt(variance), lower, upper, p_value=p_value)
    mean, stddev = bayesian.posterior(estimate, variance, options.prior)
    lower, upper = bayesian.credible_interval(mean, stddev, options.alpha)
    risk, risk_baseline = bayesian.risks(mean, stddev, options.inverse)
    return Evaluation(
        mean, stddev, lower, upper,
        chance_to_win=bayesian.chance_to_win(mean, stddev, options.inverse),
        risk=risk, risk_baseline=risk_baseline,
    )
