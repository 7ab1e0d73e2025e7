"""Trends: counts, unique users and property statistics per time bucket."""

from __future__ import annotations

from typing import Annotated, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field, model_validator

from yunying.insights.base import InsightError, QueryContext, Result
from yunying.insights.daterange import DateRange, bucket_label
from yunying.insights.documents import DateRangeDocument, Document, EventName, Filters, Interval
from yunying.insights.filters import event_matches
from yunying.insights.formula import FormulaError, parse_formula
from yunying.store.properties import property_number, property_string

Math = Literal["total", "unique_users", "sum", "avg", "min", "max", "median", "p90"]
VALUE_MATHS = {"sum", "avg", "min", "max", "median", "p90"}


class TrendsSeries(Document):
    event: EventName
    math: Math = "total"
    property: str | None = None
    filters: Filters

    @model_validator(mode="after")
    def _property_for_value_math(self) -> TrendsSeries:
        if self.math in VALUE_MATHS and not self.property:
            raise ValueError(f"math {self.math!r} needs a numeric 'property'")
        return self


class TrendsQuery(DateRangeDocument):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[TrendsSeries], Field(min_length=1, max_length=26)]
    interval: Interval = "day"
    breakdown: str | None = None
    breakdown_limit: Annotated[int, Field(ge=1, le=1000)] = 25
    compare: bool = False
    formula: str | None = None


class TrendsSeriesResult(Document):
    label: str
    event: str | None
    math: str
    property: str | None = None
    breakdown_value: str | None = None
    compare: Literal["current", "previous"] = "current"
    dates: list[str]
    values: list[float | None]
    total: float | None = None


class TrendsResult(Result):
    kind: Literal["trends"] = "trends"
    interval: str
    series: list[TrendsSeriesResult]

    def rows(self) -> list[dict[str, object]]:
        return [
            {"label": s.label, "event": s.event, "math": s.math, "breakdown_value": s.breakdown_value,
             "compare": s.compare, "date": d, "value": v}
            for s in self.series for d, v in zip(s.dates, s.values, strict=True)
        ]


OTHER = "$other"
_QUANTILES = {"median": 0.5, "p90": 0.9}


def _value_expr(table: ir.Table, series: TrendsSeries, engine: str) -> ir.Scalar:
    if series.math == "total":
        return table.count()
    if series.math == "unique_users":
        return table.person_id.nunique()
    assert series.property is not None
    number = property_number(table, series.property, engine)
    if series.math in _QUANTILES:
        return number.quantile(_QUANTILES[series.math])
    return getattr(number, {"avg": "mean"}.get(series.math, series.math))()


def _rank(counts: dict[str | None, int]) -> list[str | None]:
    """Breakdown values by number of events (descending), ties by value, null last."""
    return sorted(counts, key=lambda v: (-counts[v], v is None, v or ""))


def _one_series(query: TrendsQuery, ctx: QueryContext, series: TrendsSeries, label: str,
                daterange: DateRange, compare: str) -> list[TrendsSeriesResult]:
    table = ctx.events_in(daterange, query.filters)
    table = table.filter(event_matches(table, series.event, series.filters, ctx.engine))
    table = table.mutate(_bucket=daterange.bucket_index(table.timestamp, query.interval))
    order: list[str | None] = [None]
    keys: list[str] = []
    if query.breakdown:
        # One pass gives the ranking and, unless values must be folded, the totals.
        keys = ["breakdown_value"]
        raw = property_string(table, query.breakdown, ctx.engine)
        table = table.mutate(breakdown_value=raw)
        value = _value_expr(table, series, ctx.engine)
        totals = table.group_by(keys).agg(_n=table.count(), _value=value).to_pyarrow().to_pylist()
        order = _rank({row["breakdown_value"]: row["_n"] for row in totals})
        if len(order) > query.breakdown_limit:
            kept = order[: query.breakdown_limit]
            named = [v for v in kept if v is not None]
            raw = table.breakdown_value
            keep = raw.isin(named).fill_null(False) if named else ibis.literal(False)
            if None in kept:
                keep = keep | raw.isnull()
            table = table.mutate(breakdown_value=ibis.ifelse(keep, raw, ibis.literal(OTHER, "string")))
            value = _value_expr(table, series, ctx.engine)
            order = [*kept, OTHER]
            totals = table.group_by(keys).agg(_value=value).to_pyarrow().to_pylist()
    else:
        value = _value_expr(table, series, ctx.engine)
        totals = [{"_value": table.aggregate(_value=value).to_pyarrow().column("_value")[0].as_py()}]
    per_bucket = table.group_by(["_bucket", *keys]).agg(_value=value).to_pyarrow().to_pylist()
    buckets = daterange.bucket_indexes(query.interval)
    dates = [bucket_label(query.interval, b) for b in buckets]
    by_value: dict[str | None, dict[int, float]] = {}
    for row in per_bucket:
        by_value.setdefault(row.get("breakdown_value"), {})[row["_bucket"]] = row["_value"]
    total_of = {row.get("breakdown_value"): row["_value"] for row in totals}
    return [
        TrendsSeriesResult(
            label=label, event=series.event, math=series.math, property=series.property,
            breakdown_value=v, compare=compare, dates=dates,
            values=[float(by_value.get(v, {}).get(b) or 0) for b in buckets],
            total=float(total_of.get(v) or 0),
        )
        for v in order
    ]


def _formula_series(query: TrendsQuery, series: list[TrendsSeriesResult]) -> list[TrendsSeriesResult]:
    assert query.formula is not None
    letters = {chr(65 + i) for i in range(len(query.series))}
    try:
        evaluate = parse_formula(query.formula, letters)
    except FormulaError as exc:
        raise InsightError(str(exc), field="formula") from None
    out = []
    for compare in ("current", "previous"):
        part = [s for s in series if s.compare == compare]
        if not part:
            continue
        values = list(dict.fromkeys(s.breakdown_value for s in part))
        dates = part[0].dates
        for value in values:
            lookup = {s.label: s for s in part if s.breakdown_value == value}
            results = [
                evaluate({label: s.values[i] or 0.0 for label, s in lookup.items()})
                for i in range(len(dates))
            ]
            out.append(TrendsSeriesResult(
                label=query.formula, event=None, math="formula", breakdown_value=value,
                compare=compare, dates=dates, values=results, total=None))  # type: ignore[arg-type]
    return out


def run(query: TrendsQuery, ctx: QueryContext) -> TrendsResult:
    """Run a trends document; see docs/metrics.md 'Trends'."""
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    if query.formula:  # fail on a bad formula before running anything
        try:
            parse_formula(query.formula, {chr(65 + i) for i in range(len(query.series))})
        except FormulaError as exc:
            raise InsightError(str(exc), field="formula") from None
    periods = [(daterange, "current")]
    if query.compare:
        periods.append((daterange.shifted_back(), "previous"))
    series: list[TrendsSeriesResult] = []
    for period, compare in periods:
        for i, s in enumerate(query.series):
            series.extend(_one_series(query, ctx, s, chr(65 + i), period, compare))
    if query.formula:
        series.extend(_formula_series(query, series))
    return TrendsResult(timezone=daterange.timezone, interval=query.interval, series=series)
