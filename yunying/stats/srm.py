"""Sample-ratio mismatch (SRM, 样本比例不匹配): did the arms get the traffic they were meant to get?"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats as sps  # type: ignore[import-untyped]


def srm_p_value(counts: Sequence[int], weights: Sequence[float] | None = None) -> float:
    """Pearson χ² goodness-of-fit p-value of the arms' unit counts against their expected shares.

    ``weights`` are the intended traffic shares (any positive scale; default equal). With
    ``E_i = N · w_i / Σw`` the statistic is ``Σ (O_i − E_i)² / E_i`` with ``k − 1`` degrees of
    freedom (``k`` arms with a positive weight), as in GrowthBook's engine and
    ``scipy.stats.chisquare``. A tiny p-value (GrowthBook warns below 0.001) means the
    assignment or the logging is broken and the comparison should not be trusted.

    Conventions: no units at all, or fewer than two weighted arms, gives 1.0 (nothing to
    check); an arm of weight 0 that got units is a certain mismatch, 0.0. Negative counts or
    weights, or a length mismatch, raise ``ValueError``.
    """
    weights = [1.0] * len(counts) if weights is None else list(weights)
    if len(weights) != len(counts):
        raise ValueError("one weight per arm")
    if any(c < 0 for c in counts) or any(not (math.isfinite(w) and w >= 0) for w in weights):
        raise ValueError("counts and weights must be non-negative")
    total = sum(counts)
    if total == 0:
        return 1.0
    if any(c > 0 and w == 0 for c, w in zip(counts, weights, strict=True)):
        return 0.0
    used = [(c, w) for c, w in zip(counts, weights, strict=True) if w > 0]
    if len(used) < 2:
        return 1.0
    total_weight = sum(w for _, w in used)
    statistic = sum((c - total * w / total_weight) ** 2 / (total * w / total_weight) for c, w in used)
    return float(sps.chi2.sf(statistic, len(used) - 1))
