"""``compare``: one variant against the baseline, for any kind of statistic and any method.

Degenerate inputs are results, not exceptions: the comparison then carries an error code and
its numbers are None. The codes, checked in this order:

* ``NOT_FINITE`` — a count or sum is NaN or infinite, or the computation overflowed;
* ``NO_UNITS`` — an arm has no units;
* ``TOO_FEW_UNITS`` — an arm has one unit (no variance can be estimated), or a quantile's arm
  has too few units for its rank interval (``Quantile.too_few_units``);
* ``DENOMINATOR_ZERO`` — a ratio metric whose denominator sums to 0 in an arm;
* ``BASELINE_ZERO`` — a relative difference over a baseline mean of 0;
* ``ZERO_VARIANCE`` — an arm's values do not vary (all users converted, or none), or its sums
  are inconsistent (a negative variance).

Only arguments that no data can produce raise: statistics of different kinds (``TypeError``),
a negative unit count (``ValueError``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from yunying.stats.cuped import adjusted_arm, pooled_theta
from yunying.stats.effect import Arm
from yunying.stats.evaluate import evaluate
from yunying.stats.options import Options
from yunying.stats.summary import Adjusted, Moments, Proportion, Quantile, Ratio, Statistic


@dataclass(frozen=True)
class Comparison:
    """Variant against baseline. Numbers are in the unit of ``Options.difference``.

    * ``estimate``: the effect (relative: 0.05 = +5%); the posterior mean for Bayesian.
    * ``ci``: the 1 − alpha interval (置信区间): t interval, confidence sequence or credible
      interval by method.
    * ``stddev``: standard error of the estimate (posterior standard deviation for Bayesian).
    * ``p_value`` (显著性): frequentist and sequential only.
    * ``chance_to_win`` (胜率), ``risk`` (expected loss of shipping the variant) and
      ``risk_baseline`` (expected loss of keeping the baseline): Bayesian only.
    * ``baseline_mean`` / ``variant_mean``: the arms' unadjusted means (conversion rate, mean,
      ratio or quantile); None for an arm without units.
    * ``error``: a code (see the module) when the comparison cannot be made; then every number
      above except the two means is None.
    """

    estimate: float | None
    ci: tuple[float, float] | None
    stddev: float | None
    p_value: float | None
    chance_to_win: float | None
    risk: float | None
    risk_baseline: float | None
    baseline_mean: float | None
    variant_mean: float | None
    error: str | None = None


def _kind(statistic: Statistic) -> type:
    if isinstance(statistic, Proportion | Moments):
        return Moments  # a 0/1 metric may be compared with a general one
    if isinstance(statistic, Ratio | Adjusted | Quantile):
        return type(statistic)
    raise TypeError(f"not a statistic: {type(statistic).__name__}")


def _numbers(statistic: object) -> list[float]:
    values: list[float] = []
    for item in dataclasses.fields(statistic):  # type: ignore[arg-type]
        value = getattr(statistic, item.name)
        values.extend(_numbers(value) if dataclasses.is_dataclass(value) else [value])
    return values


def _arm(statistic: Statistic) -> Arm:
    return Arm(statistic.n, statistic.mean, statistic.mean, statistic.variance)


def _mean(statistic: Statistic) -> float | None:
    mean = float(statistic.mean) if statistic.n > 0 else math.nan
    return mean if math.isfinite(mean) else None


def _problem(baseline: Statistic, variant: Statistic, options: Options) -> str | None:
    if not all(math.isfinite(x) for s in (baseline, variant) for x in _numbers(s)):
        return "NOT_FINITE"
    if baseline.n == 0 or variant.n == 0:
        return "NO_UNITS"
    if baseline.n < 2 or variant.n < 2:
        return "TOO_FEW_UNITS"
    quantiles = isinstance(baseline, Quantile) and isinstance(variant, Quantile)
    if quantiles and (baseline.too_few_units or variant.too_few_units):  # type: ignore[union-attr]
        return "TOO_FEW_UNITS"
    ratios = isinstance(baseline, Ratio) and isinstance(variant, Ratio)
    if ratios and (baseline.denominator.sum == 0 or variant.denominator.sum == 0):  # type: ignore[union-attr]
        return "DENOMINATOR_ZERO"
    if options.relative and baseline.mean == 0:
        return "BASELINE_ZERO"
    return None


def _error(baseline: Statistic, variant: Statistic, code: str) -> Comparison:
    means = (None, None) if code == "NOT_FINITE" else (_mean(baseline), _mean(variant))
    return Comparison(None, None, None, None, None, None, None, *means, error=code)


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _numbers_of(baseline: Statistic, variant: Statistic, options: Options) -> list[float | None] | None:
    """The ``Evaluation`` as a list of floats, or None when an arm's variance is not positive."""
    if isinstance(baseline, Adjusted) and isinstance(variant, Adjusted):
        theta = pooled_theta(baseline, variant)
        arm_a, arm_b = adjusted_arm(baseline, theta), adjusted_arm(variant, theta)
    else:
        arm_a, arm_b = _arm(baseline), _arm(variant)
    if not (arm_a.variance > 0 and arm_b.variance > 0):
        return None
    result = evaluate(arm_a, arm_b, options)
    return [_float(getattr(result, item.name)) for item in dataclasses.fields(result)]


DEFAULT_OPTIONS = Options()


def compare(baseline: Statistic, variant: Statistic, options: Options = DEFAULT_OPTIONS) -> Comparison:
    """Compare ``variant`` with ``baseline`` (same kind of statistic) by ``options.method``.

    ``Adjusted`` pairs get CUPED with θ pooled over both arms (``cuped.py``). See the module for
    the error codes; ``docs/statistics.md`` defines every number.
    """
    if _kind(baseline) is not _kind(variant):
        raise TypeError(f"cannot compare {type(baseline).__name__} with {type(variant).__name__}")
    if baseline.n < 0 or variant.n < 0:
        raise ValueError("a unit count cannot be negative")
    problem = _problem(baseline, variant, options)
    if problem:
        return _error(baseline, variant, problem)
    try:
        with np.errstate(all="ignore"):  # overflow shows up as a non-finite number, checked below
            numbers = _numbers_of(baseline, variant, options)
    except (OverflowError, ZeroDivisionError):  # Python floats raise where numpy gives inf
        return _error(baseline, variant, "NOT_FINITE")
    if numbers is None:
        return _error(baseline, variant, "ZERO_VARIANCE")
    if not all(x is None or math.isfinite(x) for x in numbers):
        return _error(baseline, variant, "NOT_FINITE")
    estimate, stddev, lower, upper, p_value, chance, risk, risk_baseline = numbers
    return Comparison(
        estimate=estimate, ci=(lower, upper), stddev=stddev, p_value=p_value,  # type: ignore[arg-type]
        chance_to_win=chance, risk=risk, risk_baseline=risk_baseline,
        baseline_mean=_mean(baseline), variant_mean=_mean(variant),
    )


def decided(p_value: float | None, chance_to_win: float | None, alpha: float) -> bool:
    """Whether a comparison has decided at level ``alpha``: with a chance to win (Bayesian), when
    it is at least 1 − α or at most α; else when the p-value is below α. The one rule the experiment
    analysis and the A/B calculator's verdict share."""
    if chance_to_win is not None:
        return chance_to_win >= 1 - alpha or chance_to_win <= alpha
    return p_value is not None and p_value < alpha
