"""Simulated experiments: intervals cover the truth at the nominal rate, A/A tests reject at rate α.

Experiments are simulated at the level of sufficient statistics (many at once, as numpy arrays)
and analysed by ``evaluate``, the function ``compare`` itself calls; the first test checks that
the array path and ``compare`` agree number for number.
"""

from __future__ import annotations

import numpy as np
import pytest

from yunying.stats import Moments, Options, Proportion, Quantile, compare
from yunying.stats.effect import Arm
from yunying.stats.evaluate import evaluate
from yunying.stats.moments import proportion_variance, sample_variance
from yunying.stats.quantile import quantile_interval_ranks, rank

ALPHA = 0.05


def proportion_arm(n: int, sums: np.ndarray) -> Arm:
    rate = sums / n
    return Arm(n, rate, rate, proportion_variance(rate))


def normal_sums(rng: np.random.Generator, n: int, mean: float, sd: float, size) -> tuple[np.ndarray, ...]:
    """Exact (Σx, Σx²) of n normal values: Σx ~ N(nμ, nσ²), Σ(x − x̄)² ~ σ² χ²(n − 1), independent."""
    total = rng.normal(n * mean, sd * np.sqrt(n), size)
    within = sd**2 * rng.chisquare(n - 1, size)
    return total, within + total**2 / n


def moments_arm(n, total, sum_squares) -> Arm:
    return Arm(n, total / n, total / n, sample_variance(n, total, sum_squares))


def test_the_array_path_is_compare_number_for_number():
    rng = np.random.default_rng(0)
    sums_a, sums_b = rng.binomial(800, 0.1, 20), rng.binomial(900, 0.12, 20)
    for method in ("frequentist", "sequential", "bayesian"):
        for difference in ("relative", "absolute"):
            options = Options(method=method, difference=difference)
            batch = evaluate(proportion_arm(800, sums_a), proportion_arm(900, sums_b), options)
            for i in range(20):
                one = compare(Proportion(800, int(sums_a[i])), Proportion(900, int(sums_b[i])), options)
                assert one.estimate == pytest.approx(batch.estimate[i], rel=1e-12)
                assert one.ci == pytest.approx((batch.lower[i], batch.upper[i]), rel=1e-12)
                if method == "bayesian":
                    assert one.chance_to_win == pytest.approx(batch.chance_to_win[i], rel=1e-12)
                else:
                    assert one.p_value == pytest.approx(batch.p_value[i], rel=1e-12)


def within(rate: float, target: float, simulations: int, points: float = 0.01) -> None:
    """``rate`` within ±points of target, and ±points is at least 4 standard errors of a rate."""
    standard_error = np.sqrt(target * (1 - target) / simulations)
    assert points >= 4 * standard_error
    assert abs(rate - target) <= points, f"{rate:.4f} vs {target}"


@pytest.mark.parametrize("difference", ["absolute", "relative"])
def test_intervals_cover_the_true_difference_at_the_nominal_rate(difference):
    rng = np.random.default_rng(1)
    simulations, n = 40_000, 2000
    options = Options(difference=difference)
    truth = {"absolute": 0.13 - 0.10, "relative": 0.13 / 0.10 - 1}[difference]
    result = evaluate(proportion_arm(n, rng.binomial(n, 0.10, simulations)),
                      proportion_arm(n, rng.binomial(n, 0.13, simulations)), options)
    within(np.mean((result.lower <= truth) & (truth <= result.upper)), 1 - ALPHA, simulations)

    mean_truth = {"absolute": 1.0, "relative": 1.0 / 20}[difference]
    a = moments_arm(300, *normal_sums(rng, 300, 20.0, 6.0, simulations))
    b = moments_arm(500, *normal_sums(rng, 500, 21.0, 9.0, simulations))
    result = evaluate(a, b, options)
    within(np.mean((result.lower <= mean_truth) & (mean_truth <= result.upper)), 1 - ALPHA, simulations)


def test_a_a_false_positive_rate_of_the_fixed_horizon_test_is_alpha():
    rng = np.random.default_rng(2)
    simulations = 40_000
    for n, rate in ((1000, 0.2), (5000, 0.03)):
        result = evaluate(proportion_arm(n, rng.binomial(n, rate, simulations)),
                          proportion_arm(n, rng.binomial(n, rate, simulations)), Options())
        within(np.mean(result.p_value < ALPHA), ALPHA, simulations)
    a = moments_arm(50, *normal_sums(rng, 50, 5.0, 2.0, simulations))
    b = moments_arm(80, *normal_sums(rng, 80, 5.0, 4.0, simulations))
    within(np.mean(evaluate(a, b, Options(difference="absolute")).p_value < ALPHA), ALPHA, simulations)


def peeking(simulations: int, looks: int, batch: int, rate: float, seed: int) -> tuple[np.ndarray, ...]:
    """A/A experiments looked at after every ``batch`` units per arm: units and conversions per look."""
    rng = np.random.default_rng(seed)
    n = batch * np.arange(1, looks + 1)
    sums_a = np.cumsum(rng.binomial(batch, rate, (simulations, looks)), axis=1)
    sums_b = np.cumsum(rng.binomial(batch, rate, (simulations, looks)), axis=1)
    return n, sums_a, sums_b


def ever_significant(n, sums_a, sums_b, options: Options, counted: np.ndarray | None = None) -> float:
    """Share of experiments called significant at some look (only looks where ``counted``)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # looks before the first conversion: NaN
        significant = evaluate(proportion_arm(n, sums_a), proportion_arm(n, sums_b), options).p_value < ALPHA
    if counted is not None:
        significant &= counted
    return float(np.mean(np.any(significant, axis=1)))


def enough_conversions(n, sums_a, sums_b, floor: int) -> np.ndarray:
    return (np.minimum(sums_a, sums_b) >= floor) & (np.minimum(n - sums_a, n - sums_b) >= floor)


SEQUENTIAL_ABSOLUTE = Options(method="sequential", difference="absolute")
SEQUENTIAL_RELATIVE = Options(method="sequential", difference="relative")


def test_sequential_test_keeps_alpha_under_continuous_peeking():
    """500 looks per experiment, every 10 units per arm up to 5,000: the sequential test stays below
    α, while the fixed-horizon test looked at just as often is wrong several times more often."""
    looks = peeking(simulations=4000, looks=500, batch=10, rate=0.1, seed=3)
    assert ever_significant(*looks, SEQUENTIAL_ABSOLUTE) <= ALPHA
    assert ever_significant(*looks, Options(difference="absolute")) > 3 * ALPHA


def test_relative_sequential_test_needs_enough_conversions_before_the_first_look():
    """The delta method for a ratio of small counts is anti-conservative: peeking at the relative
    lift from the first conversion calls far too many A/A tests significant. From 50 conversions
    (and 50 non-conversions) per arm on, the sequential relative test stays below α."""
    looks = peeking(simulations=4000, looks=500, batch=10, rate=0.1, seed=4)
    assert ever_significant(*looks, SEQUENTIAL_RELATIVE) > 2 * ALPHA
    assert ever_significant(*looks, SEQUENTIAL_RELATIVE, enough_conversions(*looks, 50)) <= ALPHA


@pytest.mark.slow
def test_sequential_test_keeps_alpha_under_continuous_peeking_at_scale():
    for rate, batch in ((0.1, 5), (0.02, 20), (0.5, 5)):
        looks = peeking(simulations=10_000, looks=2000, batch=batch, rate=rate, seed=5)
        assert ever_significant(*looks, SEQUENTIAL_ABSOLUTE) <= ALPHA
        assert ever_significant(*looks, SEQUENTIAL_RELATIVE, enough_conversions(*looks, 50)) <= ALPHA


def test_quantile_intervals_cover_the_true_median_difference():
    rng = np.random.default_rng(5)
    simulations, n = 3000, 1000
    samples_a = np.sort(rng.exponential(10.0, (simulations, n)), axis=1)
    samples_b = np.sort(rng.exponential(12.0, (simulations, n)), axis=1)
    truth = (12.0 - 10.0) * np.log(2)
    low, high = quantile_interval_ranks(n, 0.5)
    middle = rank(n, 0.5)
    covered = 0
    for sample_a, sample_b in zip(samples_a, samples_b, strict=True):
        a, b = (Quantile(n, n, 0.5, s[middle - 1], s[low - 1], s[high - 1]) for s in (sample_a, sample_b))
        result = compare(a, b, Options(difference="absolute"))
        covered += result.ci[0] <= truth <= result.ci[1]
    # 3000 simulations: ±2 points is > 4 standard errors of a 95% rate
    within(covered / simulations, 1 - ALPHA, simulations, points=0.02)


def test_moments_from_simulated_sums_are_consistent():
    """The simulated sufficient statistics behave like real ones (a guard on the simulator itself)."""
    rng = np.random.default_rng(6)
    total, squares = normal_sums(rng, 40, 3.0, 2.0, 20_000)
    assert np.mean(total / 40) == pytest.approx(3.0, abs=0.01)
    assert np.mean(sample_variance(40, total, squares)) == pytest.approx(4.0, rel=0.01)
    values = rng.normal(3.0, 2.0, 40)
    same = Moments(40, values.sum(), (values**2).sum())
    assert compare(same, same).estimate == 0 and compare(same, same).p_value == 1
