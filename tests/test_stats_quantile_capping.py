"""Quantile metrics (order-statistic intervals) and capping, against DuckDB and brute force."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from yunying.stats import (
    Moments,
    Options,
    Quantile,
    cap_values,
    compare,
    percentile_cap,
    percentile_threshold,
    quantile_interval_levels,
    quantile_interval_ranks,
    quantile_statistic,
)

levels = st.sampled_from([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
samples = st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300)


DUCKDB = duckdb.connect()  # in memory, one per test process


def duckdb_quantiles(values: list[float], q: float) -> tuple[float, float]:
    query = "select quantile_disc(x, ?), quantile_cont(x, ?) from (select unnest(?::double[]) as x)"
    return DUCKDB.execute(query, [q, q, values]).fetchall()[0]


@given(values=samples, level=levels)
def test_estimate_and_interval_ends_are_order_statistics_like_sqls_percentile_disc(values, level):
    statistic = quantile_statistic(values, level)
    ordered = sorted(values)
    low, high = quantile_interval_ranks(len(values), level)
    assert statistic.estimate == duckdb_quantiles(values, level)[0]
    assert statistic.estimate == np.quantile(values, level, method="inverted_cdf")
    assert (statistic.lower, statistic.upper) == (ordered[low - 1], ordered[high - 1])
    assert statistic.n == statistic.n_star == len(values) and statistic.level == level


@given(n=st.integers(1, 10**6), level=levels)
def test_rank_interval_is_the_normal_approximation_of_the_binomial_ranks(n, level):
    """Ranks ceil(n ν ∓ z₀.₉₇₅ √(n ν (1 − ν))), kept inside 1 … n."""
    z = sps.norm.ppf(0.975)
    spread = z * math.sqrt(n * level * (1 - level))
    expected = [min(n, max(1, math.ceil(n * level + sign * spread - 1e-9))) for sign in (-1, 1)]
    assert list(quantile_interval_ranks(n, level)) == expected
    assert quantile_interval_ranks(1000, 0.5) == (470, 531)


@given(n=st.integers(100, 10**6), level=levels)
def test_rank_interval_covers_the_quantile_about_95_percent_of_the_time(n, level):
    """Exact coverage of [X₍ₗ₎, X₍ᵤ₎] for a continuous distribution: P(l ≤ Binomial(n, ν) < u)."""
    low, high = quantile_interval_ranks(n, level)
    lower_level, upper_level = quantile_interval_levels(n, level)
    assert 1 <= low <= high <= n and lower_level <= level <= upper_level
    if min(n * level, n * (1 - level)) >= 30:  # the normal approximation of the rank interval holds
        coverage = sps.binom.cdf(high - 1, n, level) - sps.binom.cdf(low - 1, n, level)
        assert 0.93 <= coverage <= 0.97


def test_quantile_variance_follows_growthbooks_convention():
    z = sps.norm.ppf(0.975)
    statistic = Quantile(n=400, n_star=800, level=0.9, estimate=10.0, lower=9.0, upper=11.5)
    assert statistic.variance == pytest.approx((800 / 400) * 399 * ((11.5 - 9.0) / (2 * z)) ** 2, rel=1e-12)
    assert Quantile(200, 200, 0.5, 1.0, 1.0, 1.0001).variance == 1e-5  # from 100 units on: at least 1e-5
    assert Quantile(1000, 1000, 0.5, 1.0, 1.0, 1.0).variance == 1e-5  # even collapsed, from 1,000 on
    assert Quantile(999, 999, 0.5, 1.0, 1.0, 1.0).variance == 0.0  # collapsed below 1,000: refused
    assert Quantile(380, 380, 0.99, 1.0, 0.5, 2.0).too_few_units  # n ≤ z² · 0.99 / 0.01 = 380.3
    assert not Quantile(381, 381, 0.99, 1.0, 0.5, 2.0).too_few_units


@given(
    n_a=st.integers(100, 10**5), n_b=st.integers(100, 10**5), level=st.sampled_from([0.5, 0.9]),
    q_a=st.floats(1, 100), q_b=st.floats(1, 100), width_a=st.floats(0.01, 10), width_b=st.floats(0.01, 10),
)
def test_quantile_difference_is_welch_on_the_implied_variances(n_a, n_b, level, q_a, q_b, width_a, width_b):
    a = Quantile(n_a, n_a, level, q_a, q_a - width_a / 2, q_a + width_a)
    b = Quantile(n_b, n_b, level, q_b, q_b - width_b, q_b + width_b / 3)
    result = compare(a, b, Options(difference="absolute"))
    if a.too_few_units or b.too_few_units:
        assert result.error == "TOO_FEW_UNITS"
        return
    expected = sps.ttest_ind_from_stats(q_b, math.sqrt(b.variance), n_b, q_a, math.sqrt(a.variance), n_a,
                                        equal_var=False)
    assert result.estimate == pytest.approx(q_b - q_a, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)


def test_quantile_helpers_reject_bad_arguments():
    for n, level in ((0, 0.5), (10, 0.0), (10, 1.0)):
        with pytest.raises(ValueError):
            quantile_interval_ranks(n, level)
    with pytest.raises(ValueError):
        quantile_statistic([], 0.5)


# ------------------------------------------------------------------------------------- capping


@given(values=samples, upper=st.floats(-1e6, 1e6) | st.none(), lower=st.floats(-1e6, 1e6) | st.none())
def test_cap_values_clips_each_unit(values, upper, lower):
    if upper is not None and lower is not None and lower > upper:
        with pytest.raises(ValueError):
            cap_values(values, upper, lower)
        return
    expected = [min(v, upper) if upper is not None else v for v in values]
    expected = [max(v, lower) if lower is not None else v for v in expected]
    assert cap_values(values, upper, lower).tolist() == expected


@given(values=samples, q=st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]))
def test_percentile_threshold_is_sqls_percentile_cont(values, q):
    expected = duckdb_quantiles(values, q)[1]
    assert percentile_threshold(values, q) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    capped = percentile_cap(values, q)
    assert capped.max() <= percentile_threshold(values, q) and len(capped) == len(values)
    assert (capped == np.minimum(values, percentile_threshold(values, q))).all()


def test_percentile_cap_can_ignore_zeros():
    values = [0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 1000.0]
    assert percentile_threshold(values, 0.9) == 0.0
    assert percentile_threshold(values, 0.75, ignore_zeros=True) == 4.0
    assert percentile_cap(values, 0.75, ignore_zeros=True).tolist() == [0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 4.0]
    assert math.isnan(percentile_threshold([0.0, 0.0], 0.5, ignore_zeros=True))
    assert percentile_cap([0.0, 0.0], 0.5, ignore_zeros=True).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError):
        percentile_threshold(values, 0.0)


def test_capping_tames_a_whale():
    """One huge order makes an otherwise clear lift insignificant; capping at p99 recovers it."""
    rng = np.random.default_rng(8)
    a, b = rng.gamma(2.0, 10.0, 5000), rng.gamma(2.0, 11.0, 5000)
    b[0] = 1e6
    cap = percentile_threshold(np.concatenate([a, b]), 0.99)

    def moments(v):
        return Moments(len(v), float(v.sum()), float((v**2).sum()))

    assert compare(moments(a), moments(b)).p_value > 0.05
    assert compare(moments(cap_values(a, cap)), moments(cap_values(b, cap))).p_value < 0.001
