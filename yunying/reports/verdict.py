"""The plain-language verdict of one comparison (B vs A), as a code and its numbers.

The words live in the workbench's catalogs (``ab.verdict.<code>``, zh-CN and en);
this module only decides which sentence applies, from the numbers of a comparison:

* ``error`` — the test could not be computed (``error`` says why: no units, zero variance …);
* frequentist / sequential: the interval excludes 0 (p < alpha) → ``better`` or ``worse``
  (by the sign of the estimate, flipped for a metric where lower is better), otherwise
  ``inconclusive``;
* Bayesian: chance to win ≥ 1 - alpha → ``better``; ≤ alpha → ``worse``; else
  ``inconclusive`` (``yunying.stats.decided``, the rule experiments use too).

For ``inconclusive`` the verdict also says how many more units per arm would make the
observed effect significant at 80% power, if it is real: the estimate's standard error
shrinks as 1/sqrt(n), so with ``n`` units per arm now, ``n * ((z(1-alpha/2) + z(0.8)) *
stddev / |estimate|)^2`` are needed. It is ``None`` when the estimate is 0 (nothing to detect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from yunying.stats import decided

POWER = 0.8


@dataclass(frozen=True)
class Verdict:
    code: str  # better | worse | inconclusive | error
    error: str | None = None
    more_per_arm: int | None = None  # inconclusive: units per arm still needed (80% power)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "error": self.error, "more_per_arm": self.more_per_arm}


def more_units_needed(n_per_arm: float, estimate: float, stddev: float, alpha: float,
                      power: float = POWER) -> int | None:
    """Units per arm to add so that an effect of ``estimate`` is detected with ``power``."""
    if not estimate or not math.isfinite(estimate) or not math.isfinite(stddev) or stddev <= 0:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    needed = n_per_arm * (z * stddev / abs(estimate)) ** 2
    return max(math.ceil(needed - n_per_arm), 0)


def verdict(comparison: dict[str, Any], *, alpha: float, n_per_arm: float, inverse: bool = False) -> Verdict:
    """The verdict of one comparison (a dict with the A/B contract's fields, plus ``stddev``).

    An experiment's analysis decides significance itself (corrected p-values, its users-needed
    convention): :func:`experiment_verdict` turns its decision into a verdict instead.
    """
    if comparison.get("error"):
        return Verdict("error", error=comparison["error"])
    estimate = comparison["estimate"]
    good = (estimate < 0) if inverse else (estimate > 0)
    ctw = comparison.get("chance_to_win")
    if ctw is not None:
        good = ctw >= 1 - alpha
    if decided(comparison.get("p_value"), ctw, alpha):
        return Verdict("better" if good else "worse")
    stddev = comparison.get("stddev")
    more = more_units_needed(n_per_arm, estimate, stddev, alpha) if stddev is not None else None
    return Verdict("inconclusive", more_per_arm=more)


def experiment_verdict(comparison: dict[str, Any], *, alpha: float, n_per_arm: float) -> Verdict:
    """The verdict of a comparison of ``yunying.experiments.analyze``: its ``significant`` and
    ``direction`` decide (so a corrected p-value counts); the users still needed are the
    analysis's ``additional_users_per_arm`` where it has them (conversion, count, sum), else
    :func:`more_units_needed` from the estimate's standard error."""
    if comparison.get("error"):
        return Verdict("error", error=comparison["error"])
    if comparison["significant"]:
        return Verdict("better" if comparison["direction"] == "better" else "worse")
    more = comparison.get("additional_users_per_arm")
    if more is None and comparison.get("stddev") is not None and comparison.get("estimate") is not None:
        more = more_units_needed(n_per_arm, comparison["estimate"], comparison["stddev"], alpha)
    return Verdict("inconclusive", more_per_arm=more)
