"""Fixed-horizon tests: the Welch t-test on an effect, and the classic pooled two-proportion z-test."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps  # type: ignore[import-untyped]

from yunying.stats.moments import Number
from yunying.stats.summary import Proportion


def t_test(estimate: Number, variance: Number, dof: Number, alpha: float) -> tuple[Number, Number, Number]:
    """Two-sided p-value and 1 − alpha interval of an effect with a t distribution.

    ``t = estimate / √variance`` against Student's t with ``dof`` degrees of freedom (the
    Welch–Satterthwaite ones); interval ``estimate ± t₁₋α/₂(dof) · √variance``. The p-value is
    ``2 · sf(|t|)``, which keeps its precision below 1e-10 (``2 · (1 − cdf)`` does not).
    """
    stddev = np.sqrt(variance)
    p_value = 2 * sps.t.sf(np.abs(estimate / stddev), dof)
    width = sps.t.ppf(1 - alpha / 2, dof) * stddev
    return p_value, estimate - width, estimate + width


@dataclass(frozen=True)
class ZTest:
    """Result of the pooled two-proportion z-test; ``z`` > 0 when the variant converts more."""

    z: float | None
    p_value: float | None
    error: str | None = None


def two_proportion_ztest(baseline: Proportion, variant: Proportion) -> ZTest:
    """The textbook pooled z-test of two conversion rates (statsmodels' ``proportions_ztest``).

    ``p̂ = (x_A + x_B)/(n_A + n_B)``, ``z = (p_B − p_A) / √(p̂(1 − p̂)(1/n_A + 1/n_B))``, two-sided
    p-value from the normal distribution. Under the null both arms share one rate, so the pooled
    variance is the right one for the *test*; the intervals of ``compare`` use each arm's own
    variance instead (Welch), so their p-values differ slightly. Returns an error code
    (``NO_UNITS``, ``ZERO_VARIANCE``) instead of numbers when the test is undefined.
    """
    if baseline.n <= 0 or variant.n <= 0:
        return ZTest(None, None, "NO_UNITS")
    pooled = (baseline.sum + variant.sum) / (baseline.n + variant.n)
    variance = pooled * (1 - pooled) * (1 / baseline.n + 1 / variant.n)
    if not variance > 0:
        return ZTest(None, None, "ZERO_VARIANCE")
    z = (variant.mean - baseline.mean) / math.sqrt(variance)
    return ZTest(z, float(2 * sps.norm.sf(abs(z))))
