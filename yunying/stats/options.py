"""How two arms are compared: method, kind of difference, error rate, prior."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Method = Literal["frequentist", "sequential", "bayesian"]
Difference = Literal["relative", "absolute"]

METHODS: tuple[str, ...] = ("frequentist", "sequential", "bayesian")
DIFFERENCES: tuple[str, ...] = ("relative", "absolute")


@dataclass(frozen=True)
class Prior:
    """Gaussian prior on the effect, in the unit of ``Options.difference``.

    With ``difference="relative"`` the default ``stddev=0.3`` means "lifts beyond ±60% are
    unlikely"; with ``"absolute"`` it is in the metric's own unit (0.3 = 30 points for a
    conversion rate). ``proper=False`` ignores mean and stddev (a flat prior): the posterior
    is then the data's normal approximation.
    """

    mean: float = 0.0
    stddev: float = 0.3
    proper: bool = False

    def __post_init__(self) -> None:
        if not math.isfinite(self.mean):
            raise ValueError("prior mean must be a finite number")
        if not (math.isfinite(self.stddev) and self.stddev > 0):
            raise ValueError("prior stddev must be a positive finite number")


@dataclass(frozen=True)
class Options:
    """The settings of one comparison.

    * ``method``: ``frequentist`` (fixed-horizon Welch t-test), ``sequential`` (always-valid
      confidence sequence, safe to peek at) or ``bayesian`` (Gaussian prior on the effect).
    * ``difference``: ``relative`` (variant / baseline − 1) or ``absolute`` (variant − baseline).
    * ``alpha``: the error rate; intervals cover with probability 1 − alpha (two-sided).
    * ``sequential_tuning``: GrowthBook's "sequential tuning parameter" N*, the total sample size
      (both arms) at which the confidence sequence is narrowest relative to a fixed-horizon
      interval. Only used by ``sequential``.
    * ``prior``: only used by ``bayesian``.
    * ``inverse``: lower is better (e.g. bounce rate); flips chance to win and the two risks.
    """

    method: Method = "frequentist"
    difference: Difference = "relative"
    alpha: float = 0.05
    sequential_tuning: float = 5000.0
    prior: Prior = field(default_factory=Prior)
    inverse: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        if self.difference not in DIFFERENCES:
            raise ValueError(f"difference must be one of {', '.join(DIFFERENCES)}")
        if not (0 < self.alpha < 1):
            raise ValueError("alpha must be between 0 and 1 (exclusive)")
        if not (math.isfinite(self.sequential_tuning) and self.sequential_tuning > 0):
            raise ValueError("sequential_tuning must be a positive finite number")

    @property
    def relative(self) -> bool:
        return self.difference == "relative"
