"""Sample-ratio mismatch and multiple-comparison adjustments against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from yunying.stats import benjamini_hochberg, holm, srm_p_value


def test_kohavis_example_is_a_clear_mismatch():
    """Kohavi, Tang & Xu (Trustworthy Online Controlled Experiments): 821,588 vs 815,482 at 50/50."""
    p = srm_p_value([821_588, 815_482])
    assert p == pytest.approx(1.8e-6, rel=0.02)
    assert p == pytest.approx(sps.chisquare([821_588, 815_482]).pvalue, rel=1e-9)


@given(
    counts=st.lists(st.integers(0, 10**7), min_size=2, max_size=6),
    data=st.data(),
)
def test_srm_matches_scipy_chisquare_with_expected_shares(counts, data):
    weights = data.draw(st.lists(st.floats(0.01, 100), min_size=len(counts), max_size=len(counts)))
    total = sum(counts)
    p = srm_p_value(counts, weights)
    if total == 0:
        assert p == 1.0
        return
    expected = total * np.asarray(weights) / sum(weights)
    assert p == pytest.approx(sps.chisquare(counts, expected).pvalue, rel=1e-9, abs=1e-300)
    assert srm_p_value(counts) == pytest.approx(sps.chisquare(counts).pvalue, rel=1e-9, abs=1e-300)


def test_srm_conventions():
    assert srm_p_value([100, 0], [1, 0]) == 1.0  # one weighted arm: nothing to compare
    assert srm_p_value([100, 3], [1, 0]) == 0.0  # an arm meant to get nothing got units
    # an arm meant to get nothing that got nothing is left out, degrees of freedom included
    assert srm_p_value([520, 480, 0], [1, 1, 0]) == pytest.approx(sps.chisquare([520, 480]).pvalue, rel=1e-12)
    assert srm_p_value([5000, 5000, 10_000], [1, 1, 2]) == pytest.approx(1.0)
    for counts, weights in (([1, -1], None), ([1, 2], [1]), ([1, 2], [1, -2])):
        with pytest.raises(ValueError):
            srm_p_value(counts, weights)


p_value_lists = st.lists(st.floats(0, 1), min_size=1, max_size=30)


@settings(max_examples=10)  # statsmodels' Holm takes ~70 ms a call
@given(p_values=p_value_lists)
def test_holm_and_bh_match_statsmodels(p_values):
    for ours, method in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
        expected = list(multipletests(p_values, method=method)[1])
        assert ours(p_values) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(p_values=p_value_lists)
def test_adjusted_p_values_are_monotone_at_least_the_raw_ones_and_at_most_one(p_values):
    for adjust in (holm, benjamini_hochberg):
        adjusted = adjust(p_values)
        assert len(adjusted) == len(p_values)
        assert all(raw <= adj <= 1 for raw, adj in zip(p_values, adjusted, strict=True))
        pairs = sorted(zip(p_values, adjusted, strict=True))
        assert all(a[1] <= b[1] for a, b in zip(pairs, pairs[1:], strict=False))
    # BH never adjusts more than Holm (up to the last bit of m · p / j)
    bh, holm_adjusted = benjamini_hochberg(p_values), holm(p_values)
    assert all(b <= h * (1 + 1e-15) for b, h in zip(bh, holm_adjusted, strict=True))


def test_adjustments_reject_bad_input():
    for bad in ([0.5, 1.5], [-0.1], [float("nan")]):
        with pytest.raises(ValueError):
            holm(bad)
        with pytest.raises(ValueError):
            benjamini_hochberg(bad)
    assert holm([]) == [] and benjamini_hochberg([]) == []
