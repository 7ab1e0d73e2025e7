"""Properties every comparison keeps, on random inputs (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yunying.stats import Adjusted, Moments, Options, Prior, Proportion, Quantile, Ratio, compare

METHODS = ("frequentist", "sequential", "bayesian")


def arm(n: int, mean: float, sd: float) -> Moments:
    return Moments(n, n * mean, (n - 1) * sd**2 + n * mean**2)


moments = st.builds(arm, st.integers(2, 10**6), st.floats(0.01, 1e4), st.floats(1e-3, 1e4))
proportions = st.integers(2, 10**6).flatmap(
    lambda n: st.builds(Proportion, st.just(n), st.integers(1, n - 1).map(float))
)
statistics = st.one_of(moments, proportions)
options = st.builds(
    Options,
    method=st.sampled_from(METHODS),
    difference=st.sampled_from(["relative", "absolute"]),
    alpha=st.sampled_from([0.01, 0.05, 0.2]),
    sequential_tuning=st.sampled_from([100.0, 5000.0, 1e6]),
    prior=st.builds(Prior, st.floats(-1, 1), st.floats(0.01, 10), st.booleans()),
    inverse=st.booleans(),
)


@given(a=statistics, b=statistics, method=st.sampled_from(["frequentist", "sequential"]))
def test_swapping_arms_flips_the_absolute_difference_and_keeps_the_p_value(a, b, method):
    forward = compare(a, b, Options(method=method, difference="absolute"))
    backward = compare(b, a, Options(method=method, difference="absolute"))
    assert forward.error is None and backward.error is None
    assert backward.estimate == pytest.approx(-forward.estimate, rel=1e-9, abs=1e-12)
    assert backward.ci == pytest.approx((-forward.ci[1], -forward.ci[0]), rel=1e-9, abs=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-9, abs=1e-300)


@given(a=statistics, b=statistics, difference=st.sampled_from(["relative", "absolute"]))
def test_flat_prior_chance_to_win_is_complementary_when_arms_swap(a, b, difference):
    forward = compare(a, b, Options(method="bayesian", difference=difference))
    backward = compare(b, a, Options(method="bayesian", difference=difference))
    if difference == "absolute":
        assert forward.chance_to_win + backward.chance_to_win == pytest.approx(1.0, abs=1e-12)
        assert backward.risk == pytest.approx(forward.risk_baseline, rel=1e-9, abs=1e-300)
    else:  # the relative lift is not antisymmetric, but its sign is
        assert (forward.chance_to_win > 0.5) == (backward.chance_to_win < 0.5) or forward.estimate == 0


@given(a=statistics, b=statistics, opts=options)
def test_interval_contains_the_estimate_and_numbers_are_where_the_method_puts_them(a, b, opts):
    result = compare(a, b, opts)
    assert result.error is None
    assert result.ci[0] <= result.estimate <= result.ci[1]
    assert result.stddev > 0
    if opts.method == "bayesian":
        assert result.p_value is None
        assert 0 <= result.chance_to_win <= 1
        assert result.risk >= 0 and result.risk_baseline >= 0
        # the risks are the two halves of E|Δ|: E[max(Δ,0)] − E[max(−Δ,0)] = E[Δ]
        lower_is_better = -1 if opts.inverse else 1
        assert lower_is_better * (result.risk_baseline - result.risk) == pytest.approx(
            result.estimate, rel=1e-6, abs=1e-9 * result.stddev)
    else:
        assert 0 <= result.p_value <= 1
        assert result.chance_to_win is None and result.risk is None and result.risk_baseline is None
        significant = result.ci[0] > 0 or result.ci[1] < 0
        if abs(result.p_value - opts.alpha) > 1e-9:
            assert significant == (result.p_value < opts.alpha)


@given(a=statistics, b=statistics)
def test_inverse_metrics_flip_chance_to_win_and_swap_risks(a, b):
    higher = compare(a, b, Options(method="bayesian"))
    lower = compare(a, b, Options(method="bayesian", inverse=True))
    assert lower.chance_to_win == pytest.approx(1 - higher.chance_to_win, abs=1e-12)
    assert (lower.risk, lower.risk_baseline) == (higher.risk_baseline, higher.risk)
    assert (lower.estimate, lower.ci) == (higher.estimate, higher.ci)


# ------------------------------------------------------------------------- degenerate inputs

anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10).map(float), st.just(0.0)
)
counts = st.integers(0, 5) | st.integers(0, 10**9)
raw_moments = st.builds(Moments, counts, anything, anything)
raw_proportions = st.builds(Proportion, counts, anything)
raw_values = raw_moments | raw_proportions


@st.composite
def pairs(draw):
    kind = draw(st.sampled_from(["values", "ratio", "adjusted", "quantile"]))
    if kind == "values":
        return draw(raw_values), draw(raw_values)
    if kind == "ratio":
        make = st.builds(Ratio, raw_values, raw_values, anything)
    elif kind == "adjusted":
        make = st.builds(Adjusted, raw_values, raw_values, anything)
    else:
        make = st.builds(Quantile, counts, counts, st.floats(0.01, 0.99), anything, anything, anything)
    return draw(make), draw(make)


CODES = {"NOT_FINITE", "NO_UNITS", "TOO_FEW_UNITS", "DENOMINATOR_ZERO", "BASELINE_ZERO", "ZERO_VARIANCE"}


@given(pair=pairs(), opts=options)
def test_degenerate_inputs_never_raise(pair, opts):
    result = compare(*pair, opts)
    numbers = (result.estimate, result.stddev, result.p_value, result.chance_to_win, result.risk)
    if result.error is None:
        assert all(x is None or math.isfinite(x) for x in numbers)
    else:
        assert result.error in CODES
        assert result.ci is None and all(x is None for x in numbers)


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [
        (Proportion(0, 0), Proportion(100, 10), "NO_UNITS"),
        (Moments(1, 3.0, 9.0), Moments(100, 300.0, 1000.0), "TOO_FEW_UNITS"),
        (Proportion(100, 0), Proportion(100, 10), "BASELINE_ZERO"),
        (Proportion(100, 100), Proportion(100, 90), "ZERO_VARIANCE"),
        (Moments(10, 10.0, 10.0), Moments(10, 12.0, 20.0), "ZERO_VARIANCE"),
        (Moments(10, 10.0, 5.0), Moments(10, 12.0, 20.0), "ZERO_VARIANCE"),  # Σx² < (Σx)²/n
        (Moments(10, math.nan, 5.0), Moments(10, 12.0, 20.0), "NOT_FINITE"),
        (Ratio(Moments(10, 5.0, 9.0), Moments(10, 0.0, 0.0), 0.0),
         Ratio(Moments(10, 5.0, 9.0), Moments(10, 5.0, 9.0), 4.0), "DENOMINATOR_ZERO"),
        (Quantile(5, 5, 0.9, 1.0, 0.5, 2.0), Quantile(500, 500, 0.9, 1.0, 0.5, 2.0), "TOO_FEW_UNITS"),
        (Quantile(50, 50, 0.5, 1.0, 1.0, 1.0), Quantile(500, 500, 0.5, 1.0, 0.5, 2.0), "ZERO_VARIANCE"),
    ],
)
def test_error_codes(a, b, code):
    result = compare(a, b)
    assert result.error == code
    if code not in ("NO_UNITS", "NOT_FINITE"):  # the means stay, where they exist
        expected = [None if math.isnan(s.mean) else pytest.approx(s.mean) for s in (a, b)]
        assert [result.baseline_mean, result.variant_mean] == expected


def test_absolute_difference_over_a_zero_baseline_is_fine():
    result = compare(Moments(100, 0.0, 50.0), Moments(100, 10.0, 60.0), Options(difference="absolute"))
    assert result.error is None and result.estimate == pytest.approx(0.1)


def test_arguments_that_no_data_can_produce_raise():
    with pytest.raises(TypeError):
        compare(Moments(10, 1.0, 1.0), Ratio(Moments(10, 1.0, 1.0), Moments(10, 1.0, 1.0), 1.0))
    with pytest.raises(ValueError):
        compare(Moments(-1, 1.0, 1.0), Moments(10, 1.0, 1.0))
    for bad in ({"alpha": 0.0}, {"alpha": 1.0}, {"method": "magic"}, {"sequential_tuning": -1.0}):
        with pytest.raises(ValueError):
            Options(**bad)
    with pytest.raises(ValueError):
        Prior(stddev=0.0)
