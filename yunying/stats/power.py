"""Power, sample size and minimum detectable effect (MDE) of a two-sided two-arm test.

Two conventions, because the two calculators people check against disagree by ~6%:

* ``"miller"`` (default) — Evan Miller's sample-size calculator. For a conversion rate ``p₁``
  and a variant rate ``p₂ = p₁ + δ``, the standard error of the difference is taken with both
  arms at the baseline rate under the null, ``σ₀ = √(p₁(1 − p₁)(1/n₁ + 1/n₂))``, and with each
  arm's own rate under the alternative, ``σ₁ = √(p₁(1 − p₁)/n₁ + p₂(1 − p₂)/n₂)``; power is
  ``Φ((|δ| − z₁₋α/₂ σ₀) / σ₁)`` (the far tail is ignored). With equal arms this solves to
  ``n = (z₁₋α/₂ √(2 p₁(1 − p₁)) + z₁₋β √(p₁(1 − p₁) + p₂(1 − p₂)))² / δ²``: 1030.22 per arm for
  20% → 25%, α 0.05, 80% power.
* ``"cohen"`` — statsmodels' ``NormalIndPower`` on Cohen's effect size: ``h = |2 asin √p₂ −
  2 asin √p₁|`` for proportions (the arcsine transform makes the variance 1/n whatever the
  rate), ``d = |δ| / σ`` for means; power ``Φ(e √m − z₁₋α/₂) + Φ(−e √m − z₁₋α/₂)`` with
  ``m = 1 / (1/n₁ + 1/n₂)``: 1091.90 per arm for the same case.

For a mean metric (``stddev`` given) ``σ₀ = σ₁ = σ √(1/n₁ + 1/n₂)`` and the two conventions
differ only by the far tail. ``n`` is the baseline arm's units; the variant arm gets
``ratio · n``. Sample sizes are rounded *up*: 1030.22 units give just under 80% power, so
1,031 per arm are needed (Evan Miller's page shows the rounded 1,030).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, special  # type: ignore[import-untyped]

Convention = Literal["miller", "cohen"]
CONVENTIONS: tuple[str, ...] = ("miller", "cohen")


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm: ``baseline`` and ``variant`` rounded up, ``*_exact`` unrounded."""

    baseline: int
    variant: int
    baseline_exact: float
    variant_exact: float

    @property
    def total(self) -> int:
        return self.baseline + self.variant


@dataclass(frozen=True)
class _Design:
    baseline: float
    stddev: float | None
    alpha: float
    ratio: float
    convention: str

    def absolute(self, effect: float, relative: bool) -> float:
        return effect * self.baseline if relative else effect

    def power(self, delta: float, n: float) -> float:
        """Power of the test for an absolute effect ``delta`` with ``n`` baseline units."""
        n2 = self.ratio * n
        z = float(special.ndtri(1 - self.alpha / 2))
        if self.stddev is None:
            p1, p2 = self.baseline, self.baseline + delta
            if self.convention == "cohen":
                size = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
                return _two_tailed(size * math.sqrt(1 / (1 / n + 1 / n2)), z)
            null = math.sqrt(p1 * (1 - p1) * (1 / n + 1 / n2))
            alternative = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n2)
            return float(special.ndtr((abs(delta) - z * null) / alternative))
        shift = abs(delta) / (self.stddev * math.sqrt(1 / n + 1 / n2))
        return _two_tailed(shift, z) if self.convention == "cohen" else float(special.ndtr(shift - z))

    def largest_effect(self) -> float:
        return 1 - self.baseline if self.stddev is None else math.inf


def _two_tailed(shift: float, z: float) -> float:
    return float(special.ndtr(shift - z) + special.ndtr(-shift - z))


def _design(baseline: float, stddev: float | None, relative: bool, alpha: float, ratio: float,
            convention: str) -> _Design:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError("ratio must be a positive number")
    if stddev is None and not 0 < baseline < 1:
        raise ValueError("a baseline conversion rate must be in (0, 1)")
    if stddev is not None and not (math.isfinite(stddev) and stddev > 0):
        raise ValueError("stddev must be a positive number")
    if not math.isfinite(baseline) or (relative and baseline == 0):
        raise ValueError("a relative effect needs a finite non-zero baseline")
    return _Design(baseline, stddev, alpha, ratio, convention)


def _effect(design: _Design, effect: float, relative: bool) -> float:
    delta = design.absolute(effect, relative)
    if not (math.isfinite(delta) and delta != 0):
        raise ValueError("the effect must be a non-zero number")
    if design.stddev is None and not 0 < design.baseline + delta < 1:
        raise ValueError("the variant's conversion rate (baseline + effect) must be in (0, 1)")
    return delta


def _check_target(target: float) -> None:
    if not 0 < target < 1:
        raise ValueError("power must be in (0, 1)")


def power(baseline: float, effect: float, n: float, *, stddev: float | None = None, relative: bool = False,
          alpha: float = 0.05, ratio: float = 1.0, convention: Convention = "miller") -> float:
    """Probability that the two-sided test at level ``alpha`` detects ``effect`` with ``n`` baseline units.

    ``baseline``: the baseline conversion rate, or the baseline mean of a metric whose per-unit
    standard deviation is ``stddev``. ``effect``: variant minus baseline (``relative``: as a
    share of the baseline, 0.1 = +10%).
    """
    design = _design(baseline, stddev, relative, alpha, ratio, convention)
    if not n > 0:
        raise ValueError("n must be positive")
    return design.power(_effect(design, effect, relative), n)


def sample_size(baseline: float, effect: float, *, stddev: float | None = None, relative: bool = False,
                alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                convention: Convention = "miller") -> SampleSize:
    """Units per arm for the test to detect ``effect`` with probability ``power`` (arguments as ``power``)."""
    design = _design(baseline, stddev, relative, alpha, ratio, convention)
    delta = _effect(design, effect, relative)
    _check_target(power)
    upper = 1.0
    while design.power(delta, upper) < power:
        upper *= 2
        if upper > 1e15:
            raise ValueError("the effect is too small to detect with any sample size")
    lowest = 1e-9  # a target power at or below the test's size is reached with (almost) no units
    exact = lowest if design.power(delta, lowest) >= power else float(
        optimize.brentq(lambda n: design.power(delta, n) - power, lowest, upper, xtol=1e-12, rtol=1e-15))
    return SampleSize(
        baseline=math.ceil(exact - 1e-9), variant=math.ceil(ratio * exact - 1e-9),
        baseline_exact=exact, variant_exact=ratio * exact,
    )


def minimum_detectable_effect(baseline: float, n: float, *, stddev: float | None = None,
                              relative: bool = False, alpha: float = 0.05, power: float = 0.8,
                              ratio: float = 1.0, convention: Convention = "miller") -> float:
    """The smallest upward effect detected with probability ``power`` with ``n`` baseline units.

    In the unit asked for (``relative``: a share of the baseline). For a conversion rate the
    variant rate cannot pass 1: when even that is not detectable the answer is ``inf``.
    """
    design = _design(baseline, stddev, relative, alpha, ratio, convention)
    _check_target(power)
    if not n > 0:
        raise ValueError("n must be positive")
    upper = design.largest_effect()
    if math.isinf(upper):
        z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))
        upper = (z + 10) * design.stddev * math.sqrt(1 / n + 1 / (ratio * n))  # type: ignore[operator]
    else:
        upper -= 1e-12
        if design.power(upper, n) < power:
            return math.inf
    lowest = 1e-15
    delta = lowest if design.power(lowest, n) >= power else float(
        optimize.brentq(lambda d: design.power(d, n) - power, lowest, upper, xtol=1e-15, rtol=1e-14))
    return delta / baseline if relative else delta
