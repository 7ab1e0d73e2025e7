"""Overview: the key numbers of a period next to the same numbers of the period before.

Definitions: docs/metrics.md 'Overview' (each number is stated there in terms of another
insight kind). For speed the activity numbers (DAU, WAU, MAU, next-day retention) of both
periods come from one query of distinct (person, local day) pairs, new users from one
first-seen query and revenue from one query; conversion runs the funnel. The brute-force
oracle in tests/oracle.py checks the result against the definitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

import ibis
import numpy as np
from pydantic import Field

from yunying.insights import funnel, trends
from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange, bucket_index_of_date, bucket_label
from yunying.insights.documents import DateRangeDocument, Document, EventName
from yunying.insights.filters import all_of, event_matches
from yunying.insights.relative import previous
from yunying.store.properties import property_number

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


class _Activity:
    """Who was active on which local day, over every window the overview looks at.

    One query gives the distinct (person, day) pairs from the earliest day any number needs
    (the previous period, or 30 days before its end for MAU) to ``date_to``; DAU, WAU, MAU
    and next-day retention of both periods are then counted from those pairs.
    """

    def __init__(self, query: OverviewQuery, ctx: QueryContext, first_day: dt.date) -> None:
        self.window = DateRange(first_day, query.date_to, ctx.timezone_for(query.timezone))
        table = ctx.events_in(self.window, query.filters)
        pairs = table.select(person=table.person_id,
                             day=self.window.bucket_index(table.timestamp, "day")).distinct()
        # sorted by (person, day) in the engine (in parallel): every count below is then one
        # linear pass, with no sort in Python
        pairs = pairs.order_by(["person", "day"]).to_pyarrow()
        self.person = pairs.column("person").to_numpy()
        self.day = pairs.column("day").to_numpy()
        self.first_day = bucket_index_of_date("day", first_day)
        self.span = bucket_index_of_date("day", query.date_to) - self.first_day + 2

    def _keys(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """One int64 per (person, day), ordered as the pairs are."""
        return person.astype(np.int64) * self.span + (day - self.first_day)

    def _inside(self, a: dt.date, b: dt.date) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The pairs of days a … b, still sorted by (person, day); and the day indexes."""
        lo, hi = bucket_index_of_date("day", a), bucket_index_of_date("day", b)
        inside = (self.day >= lo) & (self.day <= hi)
        return self.person[inside], self.day[inside], lo, hi

    def daily(self, a: dt.date, b: dt.date) -> list[float]:
        _, day, lo, hi = self._inside(a, b)
        return [float(n) for n in np.bincount(day - lo, minlength=hi - lo + 1)]

    def unique(self, a: dt.date, b: dt.date) -> float:
        person = self._inside(a, b)[0]
        return float(_first_of_each(person).sum())

    def next_day_retention(self, a: dt.date, b: dt.date) -> float | None:
        person, day, _, hi = self._inside(a, b)
        first = _first_of_each(person)
        cohort_person, cohort_day = person[first], day[first]
        counted = cohort_day < hi  # the cohort's next day is inside the range
        if not counted.any():
            return None
        keys = self._keys(person, day)  # sorted, as the pairs are
        wanted = self._keys(cohort_person[counted], cohort_day[counted] + 1)
        at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        return float(np.count_nonzero(keys[at] == wanted)) / float(counted.sum())


def _first_of_each(person: np.ndarray) -> np.ndarray:
    """True at the first row of each person (rows grouped by person)."""
    first = np.ones(person.size, dtype=bool)
    first[1:] = person[1:] != person[:-1]
    return first


def _new_users(query: OverviewQuery, ctx: QueryContext, window: DateRange,
               periods: tuple[tuple[dt.date, dt.date], ...]) -> list[float]:
    """Users whose first matching event ever is on a day of each period."""
    table = ctx.events()
    if query.filters:
        table = table.filter(all_of(table, query.filters, ctx.engine))
    first = table.group_by("person_id").agg(first_seen=table.timestamp.min())
    first = first.mutate(day=window.bucket_index(first.first_seen, "day"))
    lo = bucket_index_of_date("day", min(a for a, _ in periods))
    hi = bucket_index_of_date("day", max(b for _, b in periods))
    first = first.filter(first.day.between(lo, hi))
    rows = first.group_by("day").agg(n=first.count()).to_pyarrow()
    counts = dict(zip(rows.column("day").to_pylist(), rows.column("n").to_pylist(), strict=True))
    return [float(sum(n for d, n in counts.items()
                      if bucket_index_of_date("day", a) <= d <= bucket_index_of_date("day", b)))
            for a, b in periods]


def _revenue(query: OverviewQuery, ctx: QueryContext, window: DateRange,
             periods: tuple[tuple[dt.date, dt.date], ...]) -> list[float | None]:
    """Trends ``sum`` of the revenue property over the revenue event, per period."""
    if query.revenue is None:
        return [None for _ in periods]
    table = ctx.events_in(window, query.filters)
    table = table.filter(event_matches(table, query.revenue.event, [], ctx.engine))
    number = property_number(table, query.revenue.property, ctx.engine)
    rows = table.select(day=window.bucket_index(table.timestamp, "day"), amount=number) \
        .group_by("day").agg(amount=ibis._.amount.sum()).to_pyarrow()
    sums = dict(zip(rows.column("day").to_pylist(), rows.column("amount").to_pylist(), strict=True))
    return [float(sum(v or 0 for d, v in sums.items()
                      if bucket_index_of_date("day", a) <= d <= bucket_index_of_date("day", b)))
            for a, b in periods]


def _conversion(query: OverviewQuery, ctx: QueryContext, start: dt.date, end: dt.date) -> float | None:
    if query.conversion is None:
        return None
    steps = [funnel.FunnelStep(event=e) for e in query.conversion.steps]
    result = funnel.run(funnel.FunnelQuery(steps=steps, window=query.conversion.window,
                                           **_span(query, start, end)), ctx)
    first, last = result.steps[0].count, result.steps[-1].count
    return last / first if first else None


def _change(value: float | None, before: float | None) -> float | None:
    return (value - before) / before if value is not None and before else None


def _daily_active(activity: _Activity, periods: tuple[tuple[dt.date, dt.date], ...],
                  timezone: str) -> trends.TrendsResult:
    """What Trends gives for daily unique users with ``compare``, from the activity pairs."""
    series = []
    for (a, b), compare in zip(periods, ("current", "previous"), strict=True):
        days = bucket_index_of_date("day", a), bucket_index_of_date("day", b)
        series.append(trends.TrendsSeriesResult(
            label="A", event="$any", math="unique_users", compare=compare,
            dates=[bucket_label("day", d) for d in range(days[0], days[1] + 1)],
            values=activity.daily(a, b), total=activity.unique(a, b)))
    return trends.TrendsResult(timezone=timezone, interval="day", series=series)


def run(query: OverviewQuery, ctx: QueryContext) -> OverviewResult:
    """Run an overview document; see docs/metrics.md 'Overview'."""
    start, end = query.date_from, query.date_to
    prev_start, prev_end = previous(start, end)
    periods = ((start, end), (prev_start, prev_end))
    earliest = min(prev_start, prev_end - dt.timedelta(days=MAU_DAYS - 1))
    window = DateRange(earliest, end, ctx.timezone_for(query.timezone))
    # four independent reads; on DuckDB they overlap on cursors of their own
    activity, new_users, revenue, conversion = _concurrently(ctx, [
        lambda c: _Activity(query, c, earliest),
        lambda c: _new_users(query, c, window, periods),
        lambda c: _revenue(query, c, window, periods),
        lambda c: [_conversion(query, c, a, b) for a, b in periods],
    ])
    daily = _daily_active(activity, periods, window.timezone)

    def kpi(key: KpiKey, unit: Any, values: list[float | None] | tuple[float | None, ...]) -> Kpi:
        return Kpi(key=key, value=values[0], previous=values[1], change=_change(values[0], values[1]),
                   unit=unit)

    def last_days(days: int) -> list[float | None]:
        return [activity.unique(b - dt.timedelta(days=days - 1), b) for _, b in periods]

    kpis = [
        kpi("dau", "users", [_mean(activity.daily(a, b)) for a, b in periods]),
        kpi("wau", "users", last_days(WAU_DAYS)),
        kpi("mau", "users", last_days(MAU_DAYS)),
        kpi("new_users", "users", new_users),
        kpi("revenue", "money", revenue),
        kpi("conversion", "fraction", conversion),
        kpi("retention_d1", "fraction", [activity.next_day_retention(a, b) for a, b in periods]),
    ]
    return OverviewResult(timezone=window.timezone, date_from=start.isoformat(), date_to=end.isoformat(),
                          previous_from=prev_start.isoformat(), previous_to=prev_end.isoformat(),
                          kpis=kpis, daily_active=daily)


def _concurrently(ctx: QueryContext, tasks: list[Callable[[QueryContext], Any]]) -> list[Any]:
    """Run ``tasks`` (each given a context to query through); in parallel threads on DuckDB,
    whose queries release the interpreter lock, one after the other elsewhere."""
    if ctx.engine != "duckdb":
        return [task(ctx) for task in tasks]
    contexts = [ctx] + [QueryContext(ctx.store.cursor_store(), ctx.project) for _ in tasks[1:]]
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(task, c) for task, c in zip(tasks, contexts, strict=True)]
        return [f.result() for f in futures]


def _mean(values: list[float | None]) -> float | None:
    numbers = [v or 0.0 for v in values]
    return sum(numbers) / len(numbers) if numbers else None
