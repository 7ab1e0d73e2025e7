"""GrowthBook's engine (``gbstats``) as an oracle: JSON cases on stdin, JSON results on stdout.

Runs in its own environment (``make gbstats`` builds ``.tools/gbstats``; gbstats pins numpy<2),
so it imports nothing from yunying. ``tests/test_stats_gbstats.py`` sends every case in one
call and compares each result with ``yunying.stats``.

A case is one of:

- ``{"kind": "document", "doc": {...}}``: the A/B calculator's contract document (the first arm
  is the baseline). The result mirrors ``run_document``: ``{"comparisons": [...],
  "srm_p_value"}``, one comparison per non-baseline arm.
- ``{"kind": "pair", "baseline": stat, "variant": stat, "options": {...}}``: one comparison,
  for what a document does not carry (quantiles, a proportion inside a ratio). A ``stat`` is
  a tagged dict: ``{"type": "proportion", "n", "sum"}``, ``{"type": "moments", "n", "sum",
  "sum_squares"}``, ``{"type": "ratio", "numerator": stat, "denominator": stat,
  "sum_products"}``, ``{"type": "adjusted", "post": stat, "pre": stat, "sum_products"}`` or
  ``{"type": "quantile", "n", "n_star", "level", "estimate", "lower", "upper"}``. ``options``
  uses the names of ``yunying.stats.Options``: ``method``, ``difference``, ``alpha``,
  ``sequential_tuning``, ``prior`` (``{"mean", "stddev", "proper"}``, in the unit of
  ``difference``) and ``inverse``.
- ``{"kind": "srm", "counts": [...], "weights": [...] | null}``: ``{"p_value"}``.

A comparison is ``{"estimate", "ci", "stddev", "p_value", "chance_to_win", "risk",
"risk_baseline", "error", "gbstats_error"}``. gbstats' Bayesian ``risk`` is [risk of keeping
the control, risk of shipping the variant]: ``risk_baseline`` is the first, ``risk`` the
second. When gbstats refuses (its neutral output: expected 0, ci [0, 0], p 1 or chance 0.5)
every number is null, ``gbstats_error`` is its message, ``error`` the matching code of
``yunying.stats``, ``error_conditions`` every code whose condition holds for the inputs, and
for an absolute difference over a zero baseline mean (which gbstats' t-tests refuse)
``unguarded`` has the numbers of gbstats' formulas without that check.
A case gbstats cannot compute at all gives ``{"exception": "..."}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import scipy.stats
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    QuantileStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

# gbstats' messages (gbstats/messages.py) and the codes of yunying.stats that say the same.
ERROR_CODES = {
    "NO_UNITS_IN_VARIATION": "NO_UNITS",
    "ZERO_NEGATIVE_VARIANCE": "ZERO_VARIANCE",
    "ZERO_NEGATIVE_BASELINE_VARIATION": "BASELINE_ZERO",
}

DEFAULT_OPTIONS: dict[str, Any] = {
    "method": "frequentist",
    "difference": "relative",
    "alpha": 0.05,
    "sequential_tuning": 5000.0,
    "prior": {"mean": 0.0, "stddev": 0.3, "proper": False},
    "inverse": False,
}


def statistic(spec: dict[str, Any]):
    """A gbstats statistic for a tagged dict (a new object each time: gbstats sets theta in place)."""
    kind = spec["type"]
    if kind == "proportion":
        return ProportionStatistic(n=spec["n"], sum=spec["sum"])
    if kind == "moments":
        return SampleMeanStatistic(n=spec["n"], sum=spec["sum"], sum_squares=spec["sum_squares"])
    if kind == "ratio":
        numerator, denominator = statistic(spec["numerator"]), statistic(spec["denominator"])
        return RatioStatistic(n=numerator.n, m_statistic=numerator, d_statistic=denominator,
                              m_d_sum_of_products=spec["sum_products"])
    if kind == "adjusted":
        post, pre = statistic(spec["post"]), statistic(spec["pre"])
        return RegressionAdjustedStatistic(n=post.n, post_statistic=post, pre_statistic=pre,
                                           post_pre_sum_of_products=spec["sum_products"], theta=0)
    if kind == "quantile":
        return QuantileStatistic(n=spec["n"], n_star=spec["n_star"], nu=spec["level"],
                                 quantile_hat=spec["estimate"], quantile_lower=spec["lower"],
                                 quantile_upper=spec["upper"])
    raise ValueError(f"unknown statistic type {kind!r}")


def arm_statistic(metric: str, arm: dict[str, Any]) -> dict[str, Any]:
    """The tagged statistic of one arm of a contract document.

    ``proportion`` reads ``n`` and ``sum`` (p(1 - p) variance); ``mean`` adds ``sum_squares``;
    ``ratio`` has a numerator (``sum``, ``sum_squares``) and a denominator
    (``denominator_sum``, ``denominator_sum_squares``) over the same ``n`` units. With
    ``covariate_sum`` the arm is CUPED-adjusted; the covariate is the same metric before the
    start, so it takes the metric's kind (GrowthBook's form): a proportion's covariate is a
    proportion, a mean's has its ``covariate_sum_squares``.
    """
    n = arm["n"]
    if metric == "proportion":
        main: dict[str, Any] = {"type": "proportion", "n": n, "sum": arm["sum"]}
    elif metric == "mean":
        main = {"type": "moments", "n": n, "sum": arm["sum"], "sum_squares": arm["sum_squares"]}
    elif metric == "ratio":
        main = {"type": "ratio",
                "numerator": {"type": "moments", "n": n, "sum": arm["sum"],
                              "sum_squares": arm["sum_squares"]},
                "denominator": {"type": "moments", "n": n, "sum": arm["denominator_sum"],
                                "sum_squares": arm["denominator_sum_squares"]},
                "sum_products": arm["sum_products"]}
    else:
        raise ValueError(f"unknown metric {metric!r}")
    if arm.get("covariate_sum") is None:
        return main
    if metric == "proportion":
        pre: dict[str, Any] = {"type": "proportion", "n": n, "sum": arm["covariate_sum"]}
    else:
        pre = {"type": "moments", "n": n, "sum": arm["covariate_sum"],
               "sum_squares": arm["covariate_sum_squares"]}
    return {"type": "adjusted", "post": main, "pre": pre, "sum_products": arm["covariate_sum_products"]}


def compare(baseline: dict[str, Any], variant: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One comparison by gbstats' own test classes, with yunying's option names."""
    o = {**DEFAULT_OPTIONS, **options}
    prior = {**DEFAULT_OPTIONS["prior"], **(o.get("prior") or {})}
    a, b = statistic(baseline), statistic(variant)
    if o["method"] == "bayesian":
        # gbstats' prior takes a variance; an improper prior's variance is never used (but
        # must not be 0: gbstats divides by it even when it multiplies by 0 first).
        variance = prior["stddev"] ** 2 if prior["proper"] else 1.0
        config = EffectBayesianConfig(
            difference_type=o["difference"], alpha=o["alpha"], inverse=o["inverse"],
            prior_effect=GaussianPrior(mean=prior["mean"], variance=variance, proper=prior["proper"]),
            prior_type=o["difference"])
        test: Any = EffectBayesianABTest(a, b, config)
    elif o["method"] == "sequential":
        test = SequentialTwoSidedTTest(a, b, SequentialConfig(
            difference_type=o["difference"], alpha=o["alpha"],
            sequential_tuning_parameter=o["sequential_tuning"]))
    elif o["method"] == "frequentist":
        test = TwoSidedTTest(a, b, FrequentistConfig(difference_type=o["difference"], alpha=o["alpha"]))
    else:
        raise ValueError(f"unknown method {o['method']!r}")
    result = test.compute_result()
    bayesian = o["method"] == "bayesian"
    out: dict[str, Any] = {"estimate": None, "ci": None, "stddev": None, "p_value": None,
                           "chance_to_win": None, "risk": None, "risk_baseline": None,
                           "error": None, "gbstats_error": result.error_message}
    if result.error_message:
        out["error"] = ERROR_CODES[result.error_message]
        out["error_conditions"] = error_conditions(test)
        if (result.error_message == "ZERO_NEGATIVE_BASELINE_VARIATION" and not bayesian
                and o["difference"] == "absolute" and not test._has_zero_variance()):
            out["unguarded"] = unguarded(test)
        return out
    out.update(estimate=float(result.expected), ci=[float(x) for x in result.ci],
               stddev=float(result.uplift.stddev))
    if bayesian:
        out.update(chance_to_win=float(result.chance_to_win), risk=float(result.risk[1]),
                   risk_baseline=float(result.risk[0]))
    else:
        out["p_value"] = float(result.p_value)
    return out


def error_conditions(test: Any) -> list[str]:
    """Every yunying error code whose condition holds for a test's inputs, in gbstats' terms.

    gbstats reports only the first it checks (an empty baseline as a zero baseline mean, a
    single unit as a zero variance); yunying may check in another order.
    """
    a, b = test.stat_a, test.stat_b
    codes = []
    if a.n == 0 or b.n == 0:
        codes.append("NO_UNITS")
    if a.n < 2 or b.n < 2 or any(_rank_interval_off_sample(s) for s in (a, b)):
        codes.append("TOO_FEW_UNITS")
    if any(isinstance(s, RatioStatistic) and s.d_statistic.sum == 0 for s in (a, b)):
        codes.append("DENOMINATOR_ZERO")
    if a.mean == 0 or a.unadjusted_mean == 0:
        codes.append("BASELINE_ZERO")
    if test._has_zero_variance():
        codes.append("ZERO_VARIANCE")
    return codes


def _rank_interval_off_sample(stat: Any) -> bool:
    """A quantile whose normal rank interval reaches past level 0 or 1 (gbstats' first check)."""
    if not isinstance(stat, QuantileStatistic):
        return False
    z2 = float(scipy.stats.norm.ppf(0.975)) ** 2
    return stat.n <= z2 * stat.nu / (1 - stat.nu) or stat.n <= z2 * (1 - stat.nu) / stat.nu


def unguarded(test: Any) -> dict[str, Any]:
    """The frequentist numbers of gbstats' own formulas, past its zero-baseline check.

    gbstats' t-tests refuse a baseline mean of 0 even for an absolute difference, which is
    well defined there; these are the numbers its formulas give for it.
    """
    return {"estimate": float(test.point_estimate), "ci": [float(x) for x in test.confidence_interval],
            "stddev": float(test.variance ** 0.5), "p_value": float(test.p_value), "chance_to_win": None,
            "risk": None, "risk_baseline": None, "error": None}


def run_document(doc: dict[str, Any]) -> dict[str, Any]:
    """gbstats' answer to a contract document: every arm against the first, and the SRM check."""
    arms = doc["arms"]
    options = {key: doc[key] for key in ("method", "difference", "alpha", "sequential_tuning", "inverse")
               if key in doc}
    if doc.get("prior") is not None:
        options["prior"] = doc["prior"]
    comparisons = []
    for arm in arms[1:]:
        result = compare(arm_statistic(doc["metric"], arms[0]), arm_statistic(doc["metric"], arm), options)
        comparisons.append({"arm": arm["name"], "baseline": arms[0]["name"], **result})
    weights = [arm.get("weight", 1.0) for arm in arms]
    return {"comparisons": comparisons, "srm_p_value": srm([arm["n"] for arm in arms], weights)}


def srm(counts: list[int], weights: list[float] | None) -> float:
    """gbstats' chi-square sample-ratio check (equal weights when none are given)."""
    return float(check_srm(counts, weights if weights is not None else [1.0] * len(counts)))


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    try:
        if case["kind"] == "document":
            return run_document(case["doc"])
        if case["kind"] == "pair":
            return compare(case["baseline"], case["variant"], case.get("options", {}))
        if case["kind"] == "srm":
            return {"p_value": srm(case["counts"], case.get("weights"))}
        raise ValueError(f"unknown case kind {case['kind']!r}")
    except Exception as exc:  # reported per case: one odd case must not hide the others
        return {"exception": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    cases = json.load(sys.stdin)
    json.dump([run_case(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
