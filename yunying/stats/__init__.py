"""Statistics of A/B tests over sufficient statistics: pure numpy/scipy, no database, no web.

``docs/statistics.md`` defines every number; each module's docstring states its formulas.
"""

from yunying.stats.capping import cap_values, percentile_cap, percentile_threshold
from yunying.stats.compare import Comparison, compare, decided
from yunying.stats.frequentist import ZTest, two_proportion_ztest
from yunying.stats.multiple import benjamini_hochberg, holm
from yunying.stats.options import Options, Prior
from yunying.stats.power import SampleSize, minimum_detectable_effect, power, sample_size
from yunying.stats.quantile import quantile_interval_levels, quantile_interval_ranks, quantile_statistic
from yunying.stats.srm import srm_p_value
from yunying.stats.summary import Adjusted, Moments, Proportion, Quantile, Ratio, Statistic

__all__ = [
    "decided",
    "Adjusted", "Comparison", "Moments", "Options", "Prior", "Proportion", "Quantile", "Ratio",
    "SampleSize", "Statistic", "ZTest", "benjamini_hochberg", "cap_values", "compare", "holm",
    "minimum_detectable_effect", "percentile_cap", "percentile_threshold", "power",
    "quantile_interval_levels", "quantile_interval_ranks", "quantile_statistic", "sample_size",
    "srm_p_value", "two_proportion_ztest",
]
