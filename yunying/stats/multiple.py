"""Adjusted p-values for many comparisons at once (several variants, several metrics).

Both return the adjusted p-values in the order given; a comparison is significant at level α
when its adjusted p-value is ≤ α. Adjusted values are ≥ the raw ones, capped at 1, and keep
the order of the raw ones (a smaller raw p-value never gets a larger adjusted one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _checked(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must be a list of numbers in [0, 1]")
    return p


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate).

    With the raw p-values sorted ascending ``p₍₁₎ ≤ … ≤ p₍ₘ₎``:
    ``p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) p₍ⱼ₎)``.
    """
    p = _checked(p_values)
    order = np.argsort(p, kind="stable")
    m = len(p)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return np.maximum(adjusted, p).tolist()  # ≥ raw even where m · p / m rounds down


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjustment (controls the false discovery rate).

    With the raw p-values sorted ascending: ``p̃₍ᵢ₎ = min_{j ≥ i} min(1, m p₍ⱼ₎ / j)``.
    """
    p = _checked(p_values)
    order = np.argsort(p, kind="stable")
    m = len(p)
    scaled = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return np.maximum(adjusted, p).tolist()  # ≥ raw even where m · p / m rounds down
