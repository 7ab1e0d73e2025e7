"""Retention: of the users who started in a period, how many came back N periods later."""

from __future__ import annotations

from typing import Annotated, Literal

import ibis
from pydantic import Field

from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange, bucket_label
from yunying.insights.documents import DateRangeDocument, Document, EventName, Filters, Period
from yunying.insights.filters import event_matches


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
    """Run a retention document; see docs/metrics.md 'Retention'."""
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    unit = query.period
    table = ctx.events_in(daterange, query.filters)
    starts = table.filter(event_matches(table, query.start_event, query.start_filters, ctx.engine))
    cohorts = starts.group_by("person_id").agg(first_ts=starts.timestamp.min())
    cohorts = cohorts.select("person_id", cohort=daterange.bucket_index(cohorts.first_ts, unit))
    returns = table.filter(event_matches(table, query.return_event, query.return_filters, ctx.engine))
    returns = returns.select("person_id", bucket=daterange.bucket_index(returns.timestamp, unit)).distinct()
    joined = cohorts.join(returns, "person_id")
    joined = joined.mutate(offset=joined.bucket - joined.cohort)
    joined = joined.filter(joined.offset.between(1, query.periods))
    # Cohort sizes ride along as offset 0, so one query answers the whole table; returns are
    # distinct per (person, bucket), so a row count is a user count.
    members = cohorts.select("cohort", offset=ibis.literal(0, "int64"), person_id="person_id")
    returned = joined.select("cohort", offset=joined.offset.cast("int64"), person_id="person_id")
    counts = members.union(returned).group_by(["cohort", "offset"]).agg(users=ibis._.count())
    back = {(r["cohort"], r["offset"]): r["users"] for r in counts.to_pyarrow().to_pylist()}
    sizes = {cohort: users for (cohort, offset), users in back.items() if offset == 0}
    buckets = daterange.bucket_indexes(unit)
    last = buckets[-1]
    result = []
    for cohort in buckets:
        size = int(sizes.get(cohort, 0))
        shown = min(query.periods, last - cohort)
        values = [size, *(int(back.get((cohort, i), 0)) for i in range(1, shown + 1))]
        result.append(RetentionCohort(cohort=bucket_label(unit, cohort), size=size, values=values))
    return RetentionResult(timezone=daterange.timezone, period=unit, cohorts=result)
