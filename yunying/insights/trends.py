"""Trends: counts, unique users and property statistics per time bucket."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import DateRangeDocument, Document, EventName, Filters, Interval

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


def run(query: TrendsQuery, ctx: QueryContext) -> TrendsResult:
    raise NotImplementedError
