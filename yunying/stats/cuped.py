"""CUPED: variance reduction with a pre-period covariate, θ pooled over both arms.

Each unit's metric ``y`` is replaced by ``y − θ x`` (``x``: the same unit's value before the
experiment). With one θ for both arms the difference of the adjusted means stays an unbiased
estimate of the effect (randomisation makes the arms' pre-period means equal in expectation),
and its variance shrinks by the factor ``1 − ρ²`` (ρ: correlation of y and x).

θ is the regression slope of y on x over the units of *both* arms together:
``θ = Cov(y, x) / Var(x)``, from the pooled sums (GrowthBook's engine does the same). The
covariance is the unbiased one; the variance follows the statistic's kind, so for two
``Moments`` θ is exactly the least-squares slope, while a 0/1 covariate (``Proportion``, variance
``p(1 − p)``) gives that slope times ``n / (n − 1)``. When the pooled variance of x or of y is 0
(nothing to learn from), θ is 0 and the comparison is the unadjusted one.
"""

from __future__ import annotations

from yunying.stats import moments
from yunying.stats.effect import Arm
from yunying.stats.summary import Adjusted, Moments, Proportion


def _pooled(a: Moments | Proportion, b: Moments | Proportion) -> Moments | Proportion:
    if isinstance(a, Proportion) and isinstance(b, Proportion):
        return Proportion(a.n + b.n, a.sum + b.sum)
    return Moments(a.n + b.n, a.sum + b.sum, a.sum_squares + b.sum_squares)


def pooled_theta(baseline: Adjusted, variant: Adjusted) -> float:
    """θ = Cov(post, pre) / Var(pre) over both arms together; 0 when either pooled variance is 0."""
    post = _pooled(baseline.post, variant.post)
    pre = _pooled(baseline.pre, variant.pre)
    if not (post.variance > 0 and pre.variance > 0):
        return 0.0
    covariance = moments.sample_covariance(
        post.n, post.sum, pre.sum, baseline.sum_products + variant.sum_products
    )
    return float(covariance / pre.variance)


def adjusted_arm(statistic: Adjusted, theta: float) -> Arm:
    """The arm as the tests see it: adjusted mean and variance, unadjusted mean for the lift."""
    if theta == 0:
        return Arm(statistic.n, statistic.post.mean, statistic.post.mean, statistic.post.variance)
    return Arm(statistic.n, statistic.adjusted_mean(theta), statistic.post.mean,
               statistic.adjusted_variance(theta))
