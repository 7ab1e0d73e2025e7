"""``analyze``: an experiment's data compared arm by arm, as one JSON-able result.

Every variant after the first is compared with the first (the control) on every metric by
``yunying.stats.compare``; p-values of the primary and secondary metrics are corrected together
when the experiment asks; guardrails are flagged when significantly worse. The plain-language
verdict is the web layer's: the result carries what it needs (significance, direction, users
still needed). Definitions: docs/experiments.md, 'The analysis'.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from yunying.experiments.definition import Experiment, Metric, MetricRole, parse_experiment
from yunying.experiments.metrics import BreakdownType, ExperimentData, GroupData, experiment_data
from yunying.insights.base import QueryContext
from yunying.stats import (
    Adjusted,
    Comparison,
    Moments,
    Options,
    Prior,
    Proportion,
    Statistic,
    benjamini_hochberg,
    compare,
    decided,
    holm,
    sample_size,
    srm_p_value,
)

SRM_WARNING_BELOW = 0.001  # GrowthBook's threshold for the sample-ratio warning
POWER = 0.8
Direction = Literal["better", "worse", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComparisonResult(_Model):
    """One variant against the control on one metric (numbers in the unit of ``difference``)."""

    variant: str
    estimate: float | None
    ci: tuple[float, float] | None
    stddev: float | None
    p_value: float | None
    p_value_adjusted: float | None
    chance_to_win: float | None
    risk: float | None
    risk_baseline: float | None
    baseline_mean: float | None
    variant_mean: float | None
    error: str | None
    significant: bool
    direction: Direction
    guardrail_failed: bool
    users_needed_per_arm: int | None
    additional_users_per_arm: int | None


class MetricResult(_Model):
    key: str
    name: str
    kind: str
    role: MetricRole
    inverse: bool
    cap: float | None
    means: list[float | None]  # per arm
    statistics: list[dict[str, Any]]  # per arm: the sufficient statistic, {"type": …, fields}
    comparisons: list[ComparisonResult]  # per variant after the control


class ArmResult(_Model):
    variant: str
    name: str
    weight: float  # normalised
    users: int


class GroupResult(_Model):
    value: str | None
    arms: list[ArmResult]
    srm_p_value: float
    metrics: list[MetricResult]


class ExperimentResult(_Model):
    key: str
    name: str
    timezone: str
    date_from: dt.date
    date_to: dt.date
    pre_period: tuple[dt.date, dt.date] | None
    first_exposure: dt.datetime | None
    last_exposure: dt.datetime | None
    method: str
    difference: str
    alpha: float
    correction: str
    excluded_users: int
    arms: list[ArmResult]
    srm_p_value: float
    srm_warning: bool
    metrics: list[MetricResult]
    breakdown: str | None = None
    breakdown_type: str | None = None  # "event" or "person" with a breakdown
    groups: list[GroupResult] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def options_for(experiment: Experiment, metric: Metric) -> Options:
    settings = experiment.analysis
    prior = Prior(settings.prior.mean, settings.prior.stddev, settings.prior.proper)
    return Options(method=settings.method, difference=settings.difference, alpha=settings.alpha,
                   sequential_tuning=settings.sequential_tuning, prior=prior, inverse=metric.inverse)


def statistic_json(statistic: Statistic) -> dict[str, Any]:
    return {"type": type(statistic).__name__, **dataclasses.asdict(statistic)}


def _mean(statistic: Statistic) -> float | None:
    if statistic.n == 0:
        return None
    mean = float(statistic.mean)
    return mean if math.isfinite(mean) else None


def _direction(comparison: Comparison, inverse: bool) -> Direction:
    if comparison.estimate is None or comparison.estimate == 0:
        return "none"
    return "better" if (comparison.estimate > 0) != inverse else "worse"


def _significant(comparison: Comparison, p_value: float | None, options: Options) -> bool:
    if comparison.error is not None:
        return False
    if options.method == "bayesian":
        return comparison.chance_to_win is not None and decided(None, comparison.chance_to_win, options.alpha)
    return decided(p_value, None, options.alpha)


def users_needed(baseline: Statistic, variant: Statistic, alpha: float) -> int | None:
    """Units per arm for a two-sided test at ``alpha`` with 80% power to detect the observed
    difference of means (docs 'Users needed'); None where it does not apply."""
    base = baseline.post if isinstance(baseline, Adjusted) else baseline
    other = variant.post if isinstance(variant, Adjusted) else variant
    if not isinstance(base, Moments | Proportion) or not isinstance(other, Moments | Proportion) \
            or base.n < 2 or other.n < 1:
        return None
    effect = other.mean - base.mean
    try:
        if isinstance(base, Proportion):
            needed = sample_size(base.mean, effect, alpha=alpha, power=POWER)
        else:
            needed = sample_size(base.mean, effect, stddev=math.sqrt(base.variance), alpha=alpha, power=POWER)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return needed.baseline


def _metric_result(experiment: Experiment, role: MetricRole, metric: Metric, group: GroupData,
                   cap: float | None) -> MetricResult:
    stats = group.statistics[metric.key]
    options = options_for(experiment, metric)
    comparisons = []
    for variant, statistic in zip(experiment.variants[1:], stats[1:], strict=True):
        found = compare(stats[0], statistic, options)
        significant = _significant(found, found.p_value, options)
        direction = _direction(found, metric.inverse)
        needed = None if significant or found.error else users_needed(stats[0], statistic, options.alpha)
        comparisons.append(ComparisonResult(
            variant=variant.key, estimate=found.estimate, ci=found.ci, stddev=found.stddev,
            p_value=found.p_value, p_value_adjusted=None, chance_to_win=found.chance_to_win,
            risk=found.risk, risk_baseline=found.risk_baseline, baseline_mean=found.baseline_mean,
            variant_mean=found.variant_mean, error=found.error, significant=significant,
            direction=direction,
            guardrail_failed=role == "guardrail" and significant and direction == "worse",
            users_needed_per_arm=needed,
            additional_users_per_arm=None if needed is None
            else max(0, needed - min(stats[0].n, statistic.n)),
        ))
    return MetricResult(key=metric.key, name=metric.label, kind=metric.kind, role=role,
                        inverse=metric.inverse, cap=cap, means=[_mean(s) for s in stats],
                        statistics=[statistic_json(s) for s in stats], comparisons=comparisons)


def _corrected(experiment: Experiment, metrics: list[MetricResult]) -> list[MetricResult]:
    """Adjust the p-values of primary and secondary metrics × variants together."""
    settings = experiment.analysis
    if settings.correction == "none" or settings.method == "bayesian":
        return metrics
    places = [(m, c) for m, metric in enumerate(metrics) if metric.role != "guardrail"
              for c, comparison in enumerate(metric.comparisons) if comparison.p_value is not None]
    if not places:
        return metrics
    raw = [metrics[m].comparisons[c].p_value for m, c in places]
    adjusted = (holm if settings.correction == "holm" else benjamini_hochberg)(raw)  # type: ignore[arg-type]
    by_place = dict(zip(places, adjusted, strict=True))
    out = []
    for m, metric in enumerate(metrics):
        comparisons = []
        for c, comparison in enumerate(metric.comparisons):
            p = by_place.get((m, c))
            if p is None:
                comparisons.append(comparison)
                continue
            significant = comparison.error is None and p < settings.alpha
            comparisons.append(comparison.model_copy(update={
                "p_value_adjusted": p, "significant": significant,
                "users_needed_per_arm": None if significant else comparison.users_needed_per_arm,
                "additional_users_per_arm": None if significant else comparison.additional_users_per_arm,
            }))
        out.append(metric.model_copy(update={"comparisons": comparisons}))
    return out


def _arms(experiment: Experiment, group: GroupData) -> list[ArmResult]:
    return [ArmResult(variant=v.key, name=v.label, weight=w, users=n)
            for v, w, n in zip(experiment.variants, experiment.weights, group.users, strict=True)]


def _group(experiment: Experiment, group: GroupData, caps: dict[str, float]) -> GroupResult:
    metrics = [_metric_result(experiment, role, metric, group, caps.get(metric.key))
               for role, metric in experiment.metrics.all()]
    return GroupResult(value=group.value, arms=_arms(experiment, group),
                       srm_p_value=srm_p_value(list(group.users), experiment.weights),
                       metrics=_corrected(experiment, metrics))


def result_of(experiment: Experiment, data: ExperimentData) -> ExperimentResult:
    """The comparisons of an experiment's data (no database access)."""
    overall = _group(experiment, data.overall, data.caps)
    pre = data.periods.pre
    settings = experiment.analysis
    return ExperimentResult(
        key=experiment.key, name=experiment.name, timezone=data.periods.timezone,
        date_from=data.periods.dates.date_from, date_to=data.periods.dates.date_to,
        pre_period=None if pre is None else (pre.date_from, pre.date_to),
        first_exposure=data.first_exposure, last_exposure=data.last_exposure,
        method=settings.method, difference=settings.difference, alpha=settings.alpha,
        correction=settings.correction, excluded_users=data.excluded_users,
        arms=overall.arms, srm_p_value=overall.srm_p_value,
        srm_warning=overall.srm_p_value < SRM_WARNING_BELOW, metrics=overall.metrics,
        breakdown=data.breakdown,
        breakdown_type=data.breakdown_type if data.breakdown else None,
        groups=[_group(experiment, g, data.caps) for g in data.groups] if data.breakdown else None,
    )


def analyze(ctx: QueryContext, experiment: Experiment | dict[str, Any], *, breakdown: str | None = None,
            breakdown_type: BreakdownType = "event", breakdown_limit: int = 20,
            end: dt.date | None = None) -> ExperimentResult:
    """Analyse ``experiment`` over the project's events (see ``metrics.experiment_data`` for
    ``breakdown``, ``breakdown_type``, ``breakdown_limit`` and ``end``)."""
    experiment = parse_experiment(experiment)
    data = experiment_data(ctx, experiment, breakdown=breakdown, breakdown_type=breakdown_type,
                           breakdown_limit=breakdown_limit, end=end)
    return result_of(experiment, data)
