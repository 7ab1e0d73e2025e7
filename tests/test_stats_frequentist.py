"""Welch t-test and the pooled z-test against scipy and statsmodels on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from yunying.stats import Moments, Options, Proportion, compare, two_proportion_ztest

REL = 1e-6
ABSOLUTE = Options(difference="absolute")


def moments(values: np.ndarray) -> Moments:
    return Moments(len(values), float(values.sum()), float((values**2).sum()))


def raw_arms(seed: int, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.lognormal(1.0, 0.8, n_a), rng.lognormal(1.05, 0.9, n_b)


@given(seed=st.integers(0, 2**32 - 1), n_a=st.integers(2, 400), n_b=st.integers(2, 400))
def test_absolute_welch_matches_scipy_and_statsmodels_on_raw_values(seed, n_a, n_b):
    a, b = raw_arms(seed, n_a, n_b)
    result = compare(moments(a), moments(b), ABSOLUTE)
    scipy_result = sps.ttest_ind(b, a, equal_var=False)
    lower, upper = CompareMeans(DescrStatsW(b), DescrStatsW(a)).tconfint_diff(alpha=0.05, usevar="unequal")
    assert result.error is None
    assert result.estimate == pytest.approx(b.mean() - a.mean(), rel=REL, abs=1e-12)
    assert result.p_value == pytest.approx(scipy_result.pvalue, rel=REL)
    assert result.ci == pytest.approx((lower, upper), rel=REL)


@given(
    n_a=st.integers(2, 10**6), n_b=st.integers(2, 10**6),
    rate_a=st.floats(0.001, 0.999), rate_b=st.floats(0.001, 0.999), alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_proportions_are_welch_with_variance_p_one_minus_p(n_a, n_b, rate_a, rate_b, alpha):
    """A proportion's variance is p(1 − p): scipy's Welch test from those standard deviations."""
    a, b = Proportion(n_a, round(rate_a * n_a)), Proportion(n_b, round(rate_b * n_b))
    result = compare(a, b, Options(difference="absolute", alpha=alpha))
    if result.error:
        assert result.error == "ZERO_VARIANCE" and 0 in (a.sum, b.sum, a.n - a.sum, b.n - b.sum)
        return
    sd_a, sd_b = np.sqrt(a.mean * (1 - a.mean)), np.sqrt(b.mean * (1 - b.mean))
    expected = sps.ttest_ind_from_stats(b.mean, sd_b, n_b, a.mean, sd_a, n_a, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=REL, abs=1e-300)
    se = np.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    dof = se**4 / ((sd_a**2 / n_a) ** 2 / (n_a - 1) + (sd_b**2 / n_b) ** 2 / (n_b - 1))
    half = sps.t.ppf(1 - alpha / 2, dof) * se
    assert result.ci == pytest.approx((b.mean - a.mean - half, b.mean - a.mean + half), rel=REL, abs=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n_a=st.integers(5, 400), n_b=st.integers(5, 400))
def test_relative_difference_is_the_delta_method_of_the_ratio_of_means(seed, n_a, n_b):
    """(m_B − m_A)/m_A with the gradient of m_B/m_A through the diagonal covariance of the means."""
    a, b = raw_arms(seed, n_a, n_b)
    result = compare(moments(a), moments(b))
    gradient = np.array([-b.mean() / a.mean() ** 2, 1 / a.mean()])
    covariance = np.diag([a.var(ddof=1) / n_a, b.var(ddof=1) / n_b])
    se = np.sqrt(gradient @ covariance @ gradient)
    dof = sps.ttest_ind(b, a, equal_var=False).df
    half = sps.t.ppf(0.975, dof) * se
    estimate = b.mean() / a.mean() - 1
    assert result.estimate == pytest.approx(estimate, rel=REL, abs=1e-12)
    assert result.stddev == pytest.approx(se, rel=REL)
    assert result.ci == pytest.approx((estimate - half, estimate + half), rel=REL, abs=1e-12)
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(estimate) / se, dof), rel=REL)


def test_tiny_p_values_keep_their_precision():
    a, b = Proportion(100_000, 10_000), Proportion(100_000, 11_500)
    result = compare(a, b, ABSOLUTE)
    sd_b = np.sqrt(0.115 * 0.885)
    expected = sps.ttest_ind_from_stats(0.115, sd_b, 100_000, 0.1, 0.3, 100_000, equal_var=False)
    assert 0 < result.p_value < 1e-20
    assert result.p_value == pytest.approx(expected.pvalue, rel=REL)


def test_statsmodels_documentation_example_gives_p_0_159():
    """statsmodels' proportions_ztest docs: 5 of 83 against 12 of 99."""
    result = two_proportion_ztest(Proportion(83, 5), Proportion(99, 12))
    assert round(result.p_value, 3) == 0.159
    z, p = proportions_ztest([5, 12], [83, 99])
    assert result.p_value == pytest.approx(p, rel=REL)
    assert result.z == pytest.approx(-z, rel=REL)  # ours is variant minus baseline


@given(n_a=st.integers(1, 10**7), n_b=st.integers(1, 10**7), rate_a=st.floats(0, 1), rate_b=st.floats(0, 1))
def test_pooled_z_matches_statsmodels(n_a, n_b, rate_a, rate_b):
    x_a, x_b = round(rate_a * n_a), round(rate_b * n_b)
    result = two_proportion_ztest(Proportion(n_a, x_a), Proportion(n_b, x_b))
    if x_a + x_b in (0, n_a + n_b):
        assert (result.z, result.p_value, result.error) == (None, None, "ZERO_VARIANCE")
        return
    z, p = proportions_ztest([x_b, x_a], [n_b, n_a])
    assert result.z == pytest.approx(z, rel=REL, abs=1e-12)
    assert result.p_value == pytest.approx(p, rel=REL, abs=1e-300)


def test_z_test_without_units_is_an_error_not_an_exception():
    assert two_proportion_ztest(Proportion(0, 0), Proportion(10, 3)).error == "NO_UNITS"
