"""Power, sample size and MDE: the two published reference numbers and statsmodels' NormalIndPower."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from yunying.stats import minimum_detectable_effect, power, sample_size

REL = 1e-6


def evan_miller(p1: float, delta: float, alpha: float = 0.05, target: float = 0.8) -> float:
    """Evan Miller's closed form for two equal arms."""
    p2 = p1 + delta
    z_alpha, z_beta = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(target)
    root = z_alpha * math.sqrt(2 * p1 * (1 - p1)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / delta**2


def test_evan_millers_default_case_needs_1031_per_arm():
    """20% baseline, +5 points, 80% power, α 0.05: 1030.22 units, shown as 1,030 on his page."""
    result = sample_size(0.2, 0.05)
    assert result.baseline_exact == pytest.approx(1030.22, abs=0.005)
    assert result.baseline_exact == pytest.approx(evan_miller(0.2, 0.05), rel=1e-9)
    assert (result.baseline, result.variant, result.total) == (1031, 1031, 2062)
    assert power(0.2, 0.05, 1030) < 0.8 <= power(0.2, 0.05, 1031)


def test_cohens_h_case_needs_1092_per_arm():
    result = sample_size(0.2, 0.05, convention="cohen")
    h = proportion_effectsize(0.25, 0.2)
    expected = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1)
    assert result.baseline_exact == pytest.approx(1091.9, abs=0.05)
    assert result.baseline_exact == pytest.approx(expected, rel=REL)
    assert result.baseline == 1092


def test_relative_effect_is_a_share_of_the_baseline():
    assert sample_size(0.2, 0.25, relative=True) == sample_size(0.2, 0.05)


@given(
    baseline=st.floats(0.01, 0.9), lift=st.floats(0.01, 0.09), ratio=st.floats(0.2, 5),
    alpha=st.sampled_from([0.01, 0.05, 0.1]), target=st.floats(0.5, 0.95),
)
def test_cohen_convention_is_statsmodels_normal_ind_power(baseline, lift, ratio, alpha, target):
    h = abs(proportion_effectsize(baseline + lift, baseline))
    solver = NormalIndPower()
    expected_n = solver.solve_power(effect_size=h, alpha=alpha, power=target, ratio=ratio)
    result = sample_size(baseline, lift, alpha=alpha, power=target, ratio=ratio, convention="cohen")
    assert result.baseline_exact == pytest.approx(expected_n, rel=REL)
    assert result.variant_exact == pytest.approx(ratio * expected_n, rel=REL)
    n = result.baseline_exact
    assert power(baseline, lift, n, alpha=alpha, ratio=ratio, convention="cohen") == pytest.approx(
        solver.power(effect_size=h, nobs1=n, alpha=alpha, ratio=ratio), rel=REL)


@given(mean=st.floats(1, 100), sd=st.floats(0.5, 50), d=st.floats(0.02, 1), ratio=st.floats(0.2, 5))
def test_means_use_cohens_d(mean, sd, d, ratio):
    expected = NormalIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8, ratio=ratio)
    result = sample_size(mean, d * sd, stddev=sd, ratio=ratio, convention="cohen")
    assert result.baseline_exact == pytest.approx(expected, rel=REL)
    # without the far tail: the textbook (z₁₋α/₂ + z₁₋β)² σ² (1 + 1/k) / δ²
    textbook = (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) ** 2 * (1 + 1 / ratio) / d**2
    miller = sample_size(mean, d * sd, stddev=sd, ratio=ratio)
    assert miller.baseline_exact == pytest.approx(textbook, rel=REL)


@given(
    baseline=st.floats(0.01, 0.9), n=st.floats(50, 1e6), ratio=st.floats(0.2, 5),
    convention=st.sampled_from(["miller", "cohen"]), relative=st.booleans(),
)
def test_minimum_detectable_effect_inverts_sample_size(baseline, n, ratio, convention, relative):
    mde = minimum_detectable_effect(baseline, n, ratio=ratio, convention=convention, relative=relative)
    if math.isinf(mde):
        assert power(baseline, 0.999999 - baseline, n, ratio=ratio, convention=convention) < 0.8
        return
    design = {"ratio": ratio, "convention": convention, "relative": relative}
    assert power(baseline, mde, n, **design) == pytest.approx(0.8, rel=1e-6)
    back = sample_size(baseline, mde, **design)
    assert back.baseline_exact == pytest.approx(n, rel=1e-5)


def test_mde_of_a_mean_and_of_a_tiny_sample():
    mde = minimum_detectable_effect(50.0, 400, stddev=20.0)
    assert mde == pytest.approx((sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * 20 * math.sqrt(2 / 400), rel=REL)
    assert minimum_detectable_effect(0.5, 3) == math.inf  # not even 50% → 100% is detectable


def test_bad_arguments_raise():
    for kwargs in (
        {"baseline": 1.2, "effect": 0.1}, {"baseline": 0.2, "effect": 0.0}, {"baseline": 0.2, "effect": 0.9},
        {"baseline": 0.2, "effect": 0.05, "alpha": 1.0}, {"baseline": 0.2, "effect": 0.05, "power": 1.0},
        {"baseline": 0.2, "effect": 0.05, "ratio": 0.0}, {"baseline": 0.2, "effect": 0.05, "convention": "x"},
        {"baseline": 5.0, "effect": 1.0, "stddev": -1.0}, {"baseline": 0.0, "effect": 0.1, "relative": True},
    ):
        with pytest.raises(ValueError):
            sample_size(**kwargs)
