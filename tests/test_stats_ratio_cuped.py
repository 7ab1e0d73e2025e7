"""Ratio metrics (delta method) and CUPED (pooled θ) against brute force on raw per-unit values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from yunying.stats import Adjusted, Moments, Options, Proportion, Ratio, compare
from yunying.stats.cuped import pooled_theta

REL = 1e-6
seeds = st.integers(0, 2**32 - 1)


def moments(values: np.ndarray) -> Moments:
    return Moments(len(values), float(values.sum()), float((values**2).sum()))


def sessions_and_revenue(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    sessions = rng.poisson(2.5, n) + 1.0
    revenue = sessions * rng.gamma(2.0, 3.0 * (1 + lift), n) * (rng.random(n) < 0.4)
    return revenue, sessions


def ratio(m: np.ndarray, d: np.ndarray) -> Ratio:
    return Ratio(moments(m), moments(d), float((m * d).sum()))


def linearised(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per-unit influence values of Σm/Σd: their mean is 0 and var/n is the ratio's variance."""
    return (m - m.sum() / d.sum() * d) / d.mean()


@given(seed=seeds, n_a=st.integers(3, 300), n_b=st.integers(3, 300))
def test_ratio_absolute_difference_is_welch_on_the_linearised_values(seed, n_a, n_b):
    rng = np.random.default_rng(seed)
    (m_a, d_a), (m_b, d_b) = sessions_and_revenue(rng, n_a, 0), sessions_and_revenue(rng, n_b, 0.1)
    result = compare(ratio(m_a, d_a), ratio(m_b, d_b), Options(difference="absolute"))
    if m_a.sum() == 0 or m_b.sum() == 0:
        return  # an arm without revenue at all: a degenerate case tested elsewhere
    r_a, r_b = m_a.sum() / d_a.sum(), m_b.sum() / d_b.sum()
    sd_a, sd_b = linearised(m_a, d_a).std(ddof=1), linearised(m_b, d_b).std(ddof=1)
    expected = sps.ttest_ind_from_stats(r_b, sd_b, n_b, r_a, sd_a, n_a, equal_var=False)
    assert result.estimate == pytest.approx(r_b - r_a, rel=REL, abs=1e-12)
    assert result.stddev == pytest.approx(np.sqrt(sd_a**2 / n_a + sd_b**2 / n_b), rel=REL)
    assert result.p_value == pytest.approx(expected.pvalue, rel=REL)


@given(seed=seeds, n=st.integers(3, 500))
def test_ratio_variance_is_the_delta_method_formula(seed, n):
    rng = np.random.default_rng(seed)
    m, d = rng.normal(5, 2, n), rng.normal(3, 1, n) + 0.3 * rng.normal(5, 2, n)
    statistic = ratio(m, d)
    gradient = np.array([1 / d.mean(), -m.mean() / d.mean() ** 2])
    covariance = np.cov(np.vstack([m, d]), ddof=1)
    assert statistic.mean == pytest.approx(m.sum() / d.sum(), rel=REL)
    assert statistic.variance == pytest.approx(gradient @ covariance @ gradient, rel=REL, abs=1e-12)


def cuped_arm(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    pre = rng.gamma(2.0, 5.0, n)
    post = 0.7 * pre + rng.normal(3.0 + lift, 4.0, n)
    return post, pre


def adjusted(post: np.ndarray, pre: np.ndarray) -> Adjusted:
    return Adjusted(moments(post), moments(pre), float((post * pre).sum()))


def ols_slope(post: np.ndarray, pre: np.ndarray) -> float:
    design = np.column_stack([np.ones_like(pre), pre])
    return float(np.linalg.lstsq(design, post, rcond=None)[0][1])


@given(seed=seeds, n_a=st.integers(3, 400), n_b=st.integers(3, 400))
def test_cuped_theta_is_the_least_squares_slope_over_both_arms(seed, n_a, n_b):
    rng = np.random.default_rng(seed)
    (y_a, x_a), (y_b, x_b) = cuped_arm(rng, n_a, 0), cuped_arm(rng, n_b, 1)
    theta = pooled_theta(adjusted(y_a, x_a), adjusted(y_b, x_b))
    assert theta == pytest.approx(ols_slope(np.concatenate([y_a, y_b]), np.concatenate([x_a, x_b])), rel=REL)


@given(seed=seeds, n_a=st.integers(3, 400), n_b=st.integers(3, 400))
def test_cuped_is_welch_on_the_adjusted_values(seed, n_a, n_b):
    """Absolute: Welch's test on y − θx per unit; relative: divided by the unadjusted baseline mean."""
    rng = np.random.default_rng(seed)
    (y_a, x_a), (y_b, x_b) = cuped_arm(rng, n_a, 0), cuped_arm(rng, n_b, 1)
    theta = ols_slope(np.concatenate([y_a, y_b]), np.concatenate([x_a, x_b]))
    z_a, z_b = y_a - theta * x_a, y_b - theta * x_b
    absolute = compare(adjusted(y_a, x_a), adjusted(y_b, x_b), Options(difference="absolute"))
    lower, upper = CompareMeans(DescrStatsW(z_b), DescrStatsW(z_a)).tconfint_diff(usevar="unequal")
    assert absolute.estimate == pytest.approx(z_b.mean() - z_a.mean(), rel=REL, abs=1e-9)
    assert absolute.ci == pytest.approx((lower, upper), rel=REL, abs=1e-9)
    welch = sps.ttest_ind(z_b, z_a, equal_var=False)
    assert absolute.p_value == pytest.approx(welch.pvalue, rel=1e-5, abs=1e-12)
    assert (absolute.baseline_mean, absolute.variant_mean) == pytest.approx((y_a.mean(), y_b.mean()), rel=REL)

    relative = compare(adjusted(y_a, x_a), adjusted(y_b, x_b))
    se = np.sqrt(z_b.var(ddof=1) / (y_a.mean() ** 2 * n_b)
                 + z_a.var(ddof=1) * y_b.mean() ** 2 / (y_a.mean() ** 4 * n_a))
    assert relative.estimate == pytest.approx((z_b.mean() - z_a.mean()) / y_a.mean(), rel=REL, abs=1e-9)
    assert relative.stddev == pytest.approx(se, rel=REL)


def test_cuped_narrows_the_interval_when_pre_predicts_post():
    rng = np.random.default_rng(7)
    (y_a, x_a), (y_b, x_b) = cuped_arm(rng, 5000, 0), cuped_arm(rng, 5000, 0.5)
    plain = compare(moments(y_a), moments(y_b))
    with_pre = compare(adjusted(y_a, x_a), adjusted(y_b, x_b))
    rho2 = np.corrcoef(np.concatenate([y_a, y_b]), np.concatenate([x_a, x_b]))[0, 1] ** 2
    assert with_pre.stddev == pytest.approx(plain.stddev * np.sqrt(1 - rho2), rel=0.02)
    assert with_pre.stddev < 0.8 * plain.stddev


def test_cuped_falls_back_to_the_unadjusted_metric_when_pre_is_constant():
    rng = np.random.default_rng(3)
    y_a, y_b = rng.normal(10, 2, 200), rng.normal(10.5, 2, 200)
    flat = np.full(200, 4.0)
    assert pooled_theta(adjusted(y_a, flat), adjusted(y_b, flat)) == 0
    assert compare(adjusted(y_a, flat), adjusted(y_b, flat)) == compare(moments(y_a), moments(y_b))


def test_cuped_with_0_1_covariate_uses_p_one_minus_p_for_its_variance():
    """θ = unbiased Cov / p(1 − p): the least-squares slope times n / (n − 1) (GrowthBook's convention)."""
    rng = np.random.default_rng(11)
    x = (rng.random(600) < 0.3).astype(float)
    y = (rng.random(600) < 0.1 + 0.4 * x).astype(float)
    a = Adjusted(Proportion(300, y[:300].sum()), Proportion(300, x[:300].sum()), float((x * y)[:300].sum()))
    b = Adjusted(Proportion(300, y[300:].sum()), Proportion(300, x[300:].sum()), float((x * y)[300:].sum()))
    assert pooled_theta(a, b) == pytest.approx(ols_slope(y, x) * 600 / 599, rel=REL)
