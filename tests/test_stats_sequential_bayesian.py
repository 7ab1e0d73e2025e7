"""Sequential confidence sequences and the Bayesian posterior against independent numerical versions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as sps

from yunying.stats import Moments, Options, Prior, Proportion, compare
from yunying.stats.bayesian import positive_part_mean
from yunying.stats.sequential import mixing_rho

REL = 1e-6


def arm(n: int, mean: float, sd: float) -> Moments:
    return Moments(n, n * mean, (n - 1) * sd**2 + n * mean**2)


arms = st.builds(arm, st.integers(2, 100_000), st.floats(1, 100), st.floats(0.5, 50))


@st.composite
def close_pairs(draw) -> tuple[Moments, Moments]:
    """Two arms whose means differ by −8 … 8 standard errors: p-values from ~1e-10 to 1."""
    n_a, n_b = draw(st.integers(2, 100_000)), draw(st.integers(2, 100_000))
    sd_a, sd_b = draw(st.floats(0.5, 50)), draw(st.floats(0.5, 50))
    mean = draw(st.floats(1, 100))
    shift = draw(st.floats(-8, 8)) * math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    return arm(n_a, mean, sd_a), arm(n_b, mean + shift, sd_b)


def log_mixture_evalue(estimate: float, variance: float, n_total: float, rho: float) -> float:
    """Log e-value of the normal mixture, by numerical integration over the mixing parameter λ.

    The test martingale for a fixed λ is ``exp(λ Z − λ² N / 2)`` with ``Z = N · estimate / σ`` the
    standardised sum (σ² = variance · N per unit); the e-value averages it over λ ~ N(0, ρ²).
    """
    z = estimate * math.sqrt(n_total / variance)
    precision = n_total + 1 / rho**2
    centre, spread = z / precision, 1 / math.sqrt(precision)

    def log_integrand(lam: float) -> float:
        return lam * z - lam**2 * n_total / 2 + sps.norm.logpdf(lam, 0, rho)

    top = log_integrand(centre)  # integrate in u = (λ − centre) / spread, scaled by the peak
    area = integrate.quad(lambda u: math.exp(log_integrand(centre + u * spread) - top), -40, 40,
                          epsabs=0, epsrel=1e-10, limit=200)[0]
    return top + math.log(area * spread)


alphas = st.sampled_from([0.01, 0.05, 0.1])
tunings = st.sampled_from([100.0, 5000.0, 1e6])


@given(pair=close_pairs(), alpha=alphas, tuning=tunings)
def test_sequential_p_value_is_one_over_the_mixture_evalue(pair, alpha, tuning):
    a, b = pair
    options = Options(method="sequential", difference="absolute", alpha=alpha, sequential_tuning=tuning)
    result = compare(a, b, options)
    log_e = log_mixture_evalue(result.estimate, result.stddev**2, a.n + b.n, mixing_rho(alpha, tuning))
    assert result.p_value == pytest.approx(min(1.0, math.exp(-log_e)), rel=1e-7, abs=1e-300)


@given(a=arms, b=arms, alpha=alphas, tuning=tunings)
def test_sequential_interval_is_where_the_evalue_stays_below_one_over_alpha(a, b, alpha, tuning):
    """Eq. 9 (the interval) and eq. 155 (the e-value) agree: at the interval's ends E = 1/α."""
    options = Options(method="sequential", difference="absolute", alpha=alpha, sequential_tuning=tuning)
    result = compare(a, b, options)
    variance, n_total, rho = result.stddev**2, a.n + b.n, mixing_rho(alpha, tuning)

    def log_evalue(shift: float) -> float:
        st2 = shift**2 * n_total / variance
        return rho**2 * st2 / (2 * (n_total * rho**2 + 1)) - 0.5 * math.log(n_total * rho**2 + 1)

    half = optimize.brentq(lambda h: log_evalue(h) - math.log(1 / alpha), 0, 100 * result.stddev * 1e3)
    assert result.ci == pytest.approx((result.estimate - half, result.estimate + half), rel=REL)


def test_rho_follows_eq_161():
    alpha, tuning = 0.05, 5000
    expected = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)
    assert mixing_rho(alpha, tuning) == pytest.approx(expected, rel=1e-12)


def test_sequential_interval_is_wider_than_the_fixed_horizon_one_and_narrows_with_data():
    widths = []
    for n in (2000, 200_000):
        a, b = Proportion(n, n // 10), Proportion(n, n * 12 // 100)
        fixed, seq = compare(a, b), compare(a, b, Options(method="sequential"))
        assert seq.estimate == fixed.estimate and seq.stddev == fixed.stddev
        assert seq.ci[0] < fixed.ci[0] and fixed.ci[1] < seq.ci[1]
        assert seq.p_value > fixed.p_value
        widths.append(seq.ci[1] - seq.ci[0])
    assert widths[1] < widths[0] / 5


# ------------------------------------------------------------------------------------- Bayesian


def posterior_integrals(estimate: float, variance: float, prior: Prior) -> dict[str, float]:
    """Moments of the posterior of the effect by quadrature of likelihood × prior (unnormalised)."""
    sd = math.sqrt(variance)

    def density(x: float) -> float:
        value = sps.norm.pdf(estimate, x, sd)
        return value * sps.norm.pdf(x, prior.mean, prior.stddev) if prior.proper else value

    def integral(f, lo: float, hi: float) -> float:
        return integrate.quad(lambda x: f(x) * density(x), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]

    lo, hi = estimate - 15 * sd, estimate + 15 * sd
    total = integral(lambda x: 1.0, lo, 0) + integral(lambda x: 1.0, 0, hi)
    return {
        "mean": (integral(lambda x: x, lo, 0) + integral(lambda x: x, 0, hi)) / total,
        "win": integral(lambda x: 1.0, 0, hi) / total,
        "loss_if_variant": integral(lambda x: -x, lo, 0) / total,
        "loss_if_baseline": integral(lambda x: x, 0, hi) / total,
    }


@pytest.mark.parametrize("proper", [False, True])
@pytest.mark.parametrize("inverse", [False, True])
def test_bayesian_numbers_match_a_numerical_posterior(proper, inverse):
    a, b = Proportion(3000, 300), Proportion(3000, 345)
    prior = Prior(mean=0.02, stddev=0.05, proper=proper)
    result = compare(a, b, Options(method="bayesian", prior=prior, inverse=inverse))
    data = compare(a, b)  # the frequentist numbers are the likelihood's
    expected = posterior_integrals(data.estimate, data.stddev**2, prior)
    win, loss_if_variant, loss_if_baseline = (
        expected["win"], expected["loss_if_variant"], expected["loss_if_baseline"])
    if inverse:
        win, loss_if_variant, loss_if_baseline = 1 - win, loss_if_baseline, loss_if_variant
    assert result.p_value is None
    assert result.estimate == pytest.approx(expected["mean"], rel=REL)
    assert result.chance_to_win == pytest.approx(win, rel=REL)
    assert result.risk == pytest.approx(loss_if_variant, rel=REL)
    assert result.risk_baseline == pytest.approx(loss_if_baseline, rel=REL)
    z = sps.norm.ppf(0.975)
    half = z * result.stddev
    assert result.ci == pytest.approx((result.estimate - half, result.estimate + half))
    if not proper:
        assert (result.estimate, result.stddev) == (data.estimate, data.stddev)


def test_proper_prior_shrinks_towards_its_mean():
    a, b = Proportion(500, 50), Proportion(500, 70)
    flat = compare(a, b, Options(method="bayesian"))
    proper = compare(a, b, Options(method="bayesian", prior=Prior(0.0, 0.1, True)))
    assert 0 < proper.estimate < flat.estimate and proper.stddev < flat.stddev


@given(mean=st.floats(-1e6, 1e6), sd=st.floats(1e-6, 1e6))
def test_expected_positive_part_is_accurate_in_the_tails(mean, sd):
    """E[max(X, 0)] against μΦ(μ/σ) + σφ(μ/σ) in log space where that is stable (mpmath-free check)."""
    value = float(positive_part_mean(mean, sd))
    z = mean / sd
    if z > -30:
        expected = mean * sps.norm.cdf(z) + sd * sps.norm.pdf(z)
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-300 + 1e-12 * sd * (z > 5))
    else:  # far left tail: σ φ(z) / z² (1 − 3/z² + 15/z⁴ …), the asymptotic series
        expected = sd * sps.norm.pdf(z) / z**2 * (1 - 3 / z**2 + 15 / z**4 - 105 / z**6)
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-300)
    assert value >= 0
