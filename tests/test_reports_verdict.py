"""The verdict of a comparison (better / worse / inconclusive / error) and the users still needed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from yunying.reports.verdict import POWER, Verdict, more_units_needed, verdict
from yunying.stats.abtest import run_document


def rate_test(a: tuple[int, int], b: tuple[int, int], **options) -> dict:
    """The one comparison of B (n, conversions) against A (n, conversions) from the calculator."""
    doc = {"metric": "proportion", **options,
           "arms": [{"name": "A", "n": a[0], "sum": a[1]}, {"name": "B", "n": b[0], "sum": b[1]}]}
    return run_document(doc)["comparisons"][0]


def decide(comparison: dict, alpha: float = 0.05, inverse: bool = False) -> Verdict:
    return verdict(comparison, alpha=alpha, n_per_arm=10_000, inverse=inverse)


# ------------------------------------------------------------------------------ frequentist


def test_a_significant_rise_is_better_and_a_significant_fall_is_worse() -> None:
    rise = rate_test((10_000, 1000), (10_050, 1105))  # the worked example: p = 0.028
    fall = rate_test((10_050, 1105), (10_000, 1000))
    assert rise["p_value"] < 0.05 and decide(rise) == Verdict("better")
    assert fall["p_value"] < 0.05 and decide(fall) == Verdict("worse")
    assert decide(rise).to_json() == {"code": "better", "error": None, "more_per_arm": None}


def test_a_stricter_alpha_turns_the_same_numbers_inconclusive() -> None:
    rise = rate_test((10_000, 1000), (10_050, 1105), alpha=0.01)
    decided = decide(rise, alpha=0.01)
    assert decided.code == "inconclusive" and decided.more_per_arm > 0


def test_when_lower_is_better_a_fall_is_better() -> None:
    fall = rate_test((10_000, 1105), (10_000, 1000), inverse=True)  # e.g. a refund rate
    rise = rate_test((10_000, 1000), (10_000, 1105), inverse=True)
    assert decide(fall, inverse=True).code == "better" and decide(fall).code == "worse"
    assert decide(rise, inverse=True).code == "worse"


def test_sequential_needs_stronger_evidence_than_a_single_look() -> None:
    once = rate_test((10_000, 1000), (10_050, 1105))
    peeking = rate_test((10_000, 1000), (10_050, 1105), method="sequential")  # p = 0.56
    assert decide(once).code == "better"
    assert decide(peeking).code == "inconclusive" and decide(peeking).more_per_arm > 0
    strong = rate_test((10_000, 1000), (10_000, 1300), method="sequential")
    assert strong["p_value"] < 0.05 and decide(strong).code == "better"


def test_the_users_needed_make_the_observed_effect_significant_with_80_percent_power() -> None:
    """Not significant at 1,000 per arm; with the more users the verdict asks for, at the same rates,
    the z statistic is z(0.975) + z(0.8) ≈ 2.80: the 80% power design the sentence promises."""
    now = rate_test((1000, 120), (1000, 150))
    decided = verdict(now, alpha=0.05, n_per_arm=1000)
    assert now["p_value"] > 0.05 and decided.code == "inconclusive"
    n = 1000 + decided.more_per_arm
    later = rate_test((n, n * 0.12), (n, n * 0.15))  # the same rates (sums need not be whole here)
    target = stats.norm.ppf(0.975) + stats.norm.ppf(POWER)
    assert later["estimate"] / later["stddev"] == pytest.approx(target, abs=0.01)
    assert later["p_value"] < 0.05


def test_no_observed_difference_has_no_users_needed() -> None:
    same = rate_test((1000, 120), (1000, 120))
    assert same["estimate"] == 0 and decide(same) == Verdict("inconclusive", more_per_arm=None)


# ------------------------------------------------------------------------------ Bayesian


def test_bayesian_chance_to_win_decides() -> None:
    rise = rate_test((10_000, 1000), (10_050, 1105), method="bayesian")  # 98.6% chance to win
    fall = rate_test((10_050, 1105), (10_000, 1000), method="bayesian")
    close = rate_test((10_000, 1000), (10_000, 1030), method="bayesian")
    assert rise["chance_to_win"] >= 0.95 and decide(rise).code == "better"
    assert fall["chance_to_win"] <= 0.05 and decide(fall).code == "worse"
    assert 0.05 < close["chance_to_win"] < 0.95 and decide(close).code == "inconclusive"
    assert decide(close).more_per_arm > 0
    assert decide(rise, alpha=0.01).code == "inconclusive"  # 98.6% is short of 99%


def test_bayesian_lower_is_better_uses_the_chance_of_a_fall() -> None:
    fall = rate_test((10_000, 1105), (10_000, 1000), method="bayesian", inverse=True)
    assert fall["chance_to_win"] > 0.95  # P(B below A)
    assert decide(fall, inverse=True).code == "better"


def test_bayesian_chance_to_win_exactly_at_the_level_decides() -> None:
    edge = {"estimate": 0.01, "stddev": 0.01, "p_value": None, "chance_to_win": 0.95, "error": None}
    assert decide(edge).code == "better"
    assert decide({**edge, "estimate": -0.01, "chance_to_win": 0.05}).code == "worse"


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("a", "b", "code"), [((100, 0), (100, 5), "BASELINE_ZERO"),
                                              ((0, 0), (100, 5), "NO_UNITS"),
                                              ((100, 100), (100, 100), "ZERO_VARIANCE")])
@pytest.mark.parametrize("method", ["frequentist", "sequential", "bayesian"])
def test_a_comparison_that_cannot_be_made_says_why(a, b, code, method) -> None:
    failed = rate_test(a, b, method=method)
    assert decide(failed) == Verdict("error", error=code)


# ------------------------------------------------------------------------------ more_units_needed


def _power(n: float, n_now: float, estimate: float, stddev: float, alpha: float) -> float:
    """Power of the two-sided z-test at ``n`` units per arm, the standard error scaled by √(n_now / n)
    (the far tail left out, as the verdict's design does)."""
    se = stddev * math.sqrt(n_now / n)
    return float(stats.norm.cdf(abs(estimate) / se - stats.norm.ppf(1 - alpha / 2)))


def _brute_force_more(n_now: float, estimate: float, stddev: float, alpha: float, power: float) -> int:
    """The fewest whole units to add, by search: double until the power is reached, then bisect."""
    if _power(n_now, n_now, estimate, stddev, alpha) >= power:
        return 0
    high = 1
    while _power(n_now + high, n_now, estimate, stddev, alpha) < power:
        high *= 2
    low = high // 2  # not enough (or 0, checked above)
    while high - low > 1:
        middle = (low + high) // 2
        if _power(n_now + middle, n_now, estimate, stddev, alpha) >= power:
            high = middle
        else:
            low = middle
    return high


@given(n_now=st.one_of(st.integers(2, 2_000_000).map(float), st.floats(2, 2_000_000)),
       estimate=st.floats(1e-4, 10) | st.floats(-10, -1e-4),
       noise=st.floats(0.05, 200),  # the standard error relative to the estimate
       alpha=st.floats(0.001, 0.3), power=st.floats(0.5, 0.99))
def test_more_units_needed_is_the_smallest_whole_number_that_reaches_the_power(
        n_now, estimate, noise, alpha, power) -> None:
    stddev = abs(estimate) * noise
    more = more_units_needed(n_now, estimate, stddev, alpha, power)
    expected = _brute_force_more(n_now, estimate, stddev, alpha, power)
    if more != expected:  # only where the power is the target to rounding error
        boundary = n_now + min(more, expected) + (0 if more > expected else 1)
        assert _power(boundary, n_now, estimate, stddev, alpha) == pytest.approx(power, abs=1e-9)


@pytest.mark.parametrize(("estimate", "stddev"), [(0.0, 0.1), (0.1, 0.0), (0.1, -1.0), (math.nan, 0.1),
                                                  (0.1, math.inf), (math.inf, 0.1)])
def test_more_units_needed_is_none_when_there_is_nothing_to_detect(estimate, stddev) -> None:
    assert more_units_needed(1000, estimate, stddev, 0.05) is None
