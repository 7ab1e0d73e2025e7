"""Stickiness: in how many days (weeks, months) of the range were users active."""

from __future__ import annotations

from typing import Literal

from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange
from yunying.insights.documents import DateRangeDocument, Document, EventName, Period
from yunying.insights.filters import event_matches


class StickinessQuery(DateRangeDocument):
    kind: Literal["stickiness"] = "stickiness"
    event: EventName = "$any"
    interval: Period = "day"


class StickinessRow(Document):
    buckets_active: int
    users: int


class StickinessResult(Result):
    kind: Literal["stickiness"] = "stickiness"
    interval: str
    buckets: int
    stickiness: list[StickinessRow]

    def rows(self) -> list[dict[str, object]]:
        return [r.model_dump() for r in self.stickiness]


def run(query: StickinessQuery, ctx: QueryContext) -> StickinessResult:
    """Run a stickiness document; see docs/metrics.md 'Stickiness'."""
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    table = ctx.events_in(daterange, query.filters)
    table = table.filter(event_matches(table, query.event, [], ctx.engine))
    active = table.select("person_id", bucket=daterange.bucket_index(table.timestamp, query.interval))
    per_person = active.group_by("person_id").agg(k=active.bucket.nunique())
    histogram = {r["k"]: r["users"] for r in
                 per_person.group_by("k").agg(users=per_person.count()).to_pyarrow().to_pylist()}
    n_buckets = len(daterange.bucket_indexes(query.interval))
    rows = [StickinessRow(buckets_active=k, users=int(histogram.get(k, 0))) for k in range(1, n_buckets + 1)]
    return StickinessResult(timezone=daterange.timezone, interval=query.interval, buckets=n_buckets,
                            stickiness=rows)
