"""Retention: of the users who started in a period, how many came back N periods later."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import DateRangeDocument, Document, EventName, Filters, Period


class RetentionQuery(DateRangeDocument):
    kind: Literal["retention"] = "retention"
    start_event: EventName
    start_filters: Filters
    return_event: EventName = "$any"
    return_filters: Filters
    period: Period = "day"
    periods: Annotated[int, Field(ge=1, le=400)] = 7


class RetentionCohort(Document):
    cohort: str
    size: int
    values: list[int]


class RetentionResult(Result):
    kind: Literal["retention"] = "retention"
    period: str
    cohorts: list[RetentionCohort]

    def rows(self) -> list[dict[str, object]]:
        return [
            {"cohort": c.cohort, "size": c.size, "period": i, "users": v,
             "rate": (v / c.size) if c.size else 0.0}
            for c in self.cohorts for i, v in enumerate(c.values)
        ]


def run(query: RetentionQuery, ctx: QueryContext) -> RetentionResult:
    raise NotImplementedError
