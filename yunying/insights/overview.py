"""Overview: the key numbers of a period next to the same numbers of the period before.

Every number is computed by another insight kind (trends, lifecycle, funnel, retention), so
its definition and its oracle are theirs; this module only chooses the documents and
combines the answers. Definitions: docs/metrics.md 'Overview'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from yunying.insights import funnel, lifecycle, retention, trends
from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import DateRangeDocument, Document, EventName
from yunying.insights.relative import previous

WAU_DAYS, MAU_DAYS = 7, 30
KpiKey = Literal["dau", "wau", "mau", "new_users", "revenue", "conversion", "retention_d1"]


class RevenueSpec(Document):
    event: EventName
    property: Annotated[str, Field(min_length=1, max_length=400)]


class ConversionSpec(Document):
    steps: Annotated[list[EventName], Field(min_length=2, max_length=20)]
    window: str = "1d"


class OverviewQuery(DateRangeDocument):
    kind: Literal["overview"] = "overview"
    revenue: RevenueSpec | None = None
    conversion: ConversionSpec | None = None


class Kpi(Document):
    key: KpiKey
    value: float | None
    previous: float | None
    change: float | None  # (value − previous) ÷ previous; null when previous is 0 or null
    unit: Literal["users", "money", "fraction"]


class OverviewResult(Result):
    kind: Literal["overview"] = "overview"
    date_from: str
    date_to: str
    previous_from: str
    previous_to: str
    kpis: list[Kpi]
    daily_active: trends.TrendsResult  # daily unique users, with the previous period (compare)

    def rows(self) -> list[dict[str, Any]]:
        return [k.model_dump() for k in self.kpis]

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def _span(query: OverviewQuery, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    return {"date_from": date_from, "date_to": date_to, "timezone": query.timezone,
            "filters": list(query.filters)}


def _active_in_last(days: int) -> Callable[[OverviewQuery, QueryContext, dt.date, dt.date], float]:
    """Unique users in the ``days`` days ending on the period's last day."""
    def unique_users(query: OverviewQuery, ctx: QueryContext, _start: dt.date, end: dt.date) -> float:
        series = [trends.TrendsSeries(event="$any", math="unique_users")]
        start = end - dt.timedelta(days=days - 1)
        return float(trends.run(trends.TrendsQuery(series=series, **_span(query, start, end)), ctx)
                     .series[0].total or 0)
    return unique_users


def _new_users(query: OverviewQuery, ctx: QueryContext, start: dt.date, end: dt.date) -> float:
    result = lifecycle.run(lifecycle.LifecycleQuery(interval="day", **_span(query, start, end)), ctx)
    return float(sum(b.new for b in result.buckets))


def _revenue(query: OverviewQuery, ctx: QueryContext, start: dt.date, end: dt.date) -> float | None:
    if query.revenue is None:
        return None
    series = trends.TrendsSeries(event=query.revenue.event, math="sum", property=query.revenue.property)
    result = trends.run(trends.TrendsQuery(series=[series], **_span(query, start, end)), ctx)
    return float(result.series[0].total or 0)


def _conversion(query: OverviewQuery, ctx: QueryContext, start: dt.date, end: dt.date) -> float | None:
    if query.conversion is None:
        return None
    steps = [funnel.FunnelStep(event=e) for e in query.conversion.steps]
    result = funnel.run(funnel.FunnelQuery(steps=steps, window=query.conversion.window,
                                           **_span(query, start, end)), ctx)
    first, last = result.steps[0].count, result.steps[-1].count
    return last / first if first else None


def _next_day_retention(query: OverviewQuery, ctx: QueryContext, start: dt.date,
                        end: dt.date) -> float | None:
    result = retention.run(retention.RetentionQuery(start_event="$any", period="day", periods=1,
                                                    **_span(query, start, end)), ctx)
    complete = [c for c in result.cohorts if len(c.values) > 1]  # cohorts whose next day is in range
    size = sum(c.size for c in complete)
    return sum(c.values[1] for c in complete) / size if size else None


def _change(value: float | None, before: float | None) -> float | None:
    return (value - before) / before if value is not None and before else None


def run(query: OverviewQuery, ctx: QueryContext) -> OverviewResult:
    """Run an overview document; see docs/metrics.md 'Overview'."""
    start, end = query.date_from, query.date_to
    prev_start, prev_end = previous(start, end)
    daily = trends.run(trends.TrendsQuery(series=[trends.TrendsSeries(event="$any", math="unique_users")],
                                          compare=True, **_span(query, start, end)), ctx)
    current_days, previous_days = (s.values for s in daily.series)
    periods = ((start, end), (prev_start, prev_end))

    def kpi(key: KpiKey, unit: Any, compute: Callable[..., float | None]) -> Kpi:
        value, before = (compute(query, ctx, a, b) for a, b in periods)
        return Kpi(key=key, value=value, previous=before, change=_change(value, before), unit=unit)

    kpis = [
        Kpi(key="dau", value=_mean(current_days), previous=_mean(previous_days),
            change=_change(_mean(current_days), _mean(previous_days)), unit="users"),
        kpi("wau", "users", _active_in_last(WAU_DAYS)),
        kpi("mau", "users", _active_in_last(MAU_DAYS)),
        kpi("new_users", "users", _new_users),
        kpi("revenue", "money", _revenue),
        kpi("conversion", "fraction", _conversion),
        kpi("retention_d1", "fraction", _next_day_retention),
    ]
    return OverviewResult(timezone=daily.timezone, date_from=start.isoformat(), date_to=end.isoformat(),
                          previous_from=prev_start.isoformat(), previous_to=prev_end.isoformat(),
                          kpis=kpis, daily_active=daily)


def _mean(values: list[float | None]) -> float | None:
    numbers = [v or 0.0 for v in values]
    return sum(numbers) / len(numbers) if numbers else None
