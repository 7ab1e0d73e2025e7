"""Lifecycle: new, returning, resurrecting and dormant users per bucket."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis

from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange, bucket_label, bucket_start_date
from yunying.insights.documents import DateRangeDocument, Document, EventName, Interval
from yunying.insights.filters import event_matches


class LifecycleQuery(DateRangeDocument):
    kind: Literal["lifecycle"] = "lifecycle"
    event: EventName = "$any"
    interval: Interval = "day"


class LifecycleBucket(Document):
    date: str
    new: int
    returning: int
    resurrecting: int
    dormant: int


class LifecycleResult(Result):
    kind: Literal["lifecycle"] = "lifecycle"
    interval: str
    buckets: list[LifecycleBucket]

    def rows(self) -> list[dict[str, object]]:
        return [b.model_dump() for b in self.buckets]


def run(query: LifecycleQuery, ctx: QueryContext) -> LifecycleResult:
    """Run a lifecycle document; see docs/metrics.md 'Lifecycle'."""
    requested = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    unit = query.interval
    buckets = requested.bucket_indexes(unit)
    first, last = buckets[0], buckets[-1]
    # Whole buckets, one more before the range: activity in b - 1 of the first bucket.
    if unit == "hour":
        wide = DateRange(requested.date_from - dt.timedelta(days=1), requested.date_to, requested.timezone)
    else:
        wide = DateRange(bucket_start_date(unit, first - 1),
                         bucket_start_date(unit, last + 1) - dt.timedelta(days=1), requested.timezone)
    events = ctx.events()
    matching = events.filter(event_matches(events, query.event, query.filters, ctx.engine))
    in_wide = matching.filter(wide.in_range(matching.timestamp))
    active = in_wide.select("person_id", b=wide.bucket_index(in_wide.timestamp, unit)).distinct()
    active = active.filter(active.b.between(first - 1, last))
    firsts = matching.group_by("person_id").agg(first_ts=matching.timestamp.min())
    firsts = firsts.select(fp="person_id", first_b=wide.bucket_index(firsts.first_ts, unit))
    previous = active.select(pp="person_id", pb=active.b + 1, had_previous=ibis.literal(True))
    current = active.filter(active.b >= first)
    current = current.left_join(previous, [current.person_id == previous.pp, current.b == previous.pb])
    current = current.join(firsts, current.person_id == firsts.fp)
    is_new = current.first_b == current.b
    had = current.had_previous.fill_null(False)
    states = current.group_by("b").agg(
        new=is_new.sum(),
        returning=(~is_new & had).sum(),
        resurrecting=(~is_new & ~had).sum(),
    )
    following = active.select(np="person_id", nb=active.b - 1)
    before_last = active.filter(active.b < last)
    gone = before_last.anti_join(
        following, [before_last.person_id == following.np, before_last.b == following.nb])
    dormant = gone.group_by("b").agg(n=gone.count())
    by_bucket = {r["b"]: r for r in states.to_pyarrow().to_pylist()}
    dormant_next = {r["b"] + 1: r["n"] for r in dormant.to_pyarrow().to_pylist()}
    rows = []
    for b in buckets:
        r = by_bucket.get(b, {})
        rows.append(LifecycleBucket(
            date=bucket_label(unit, b), new=int(r.get("new") or 0),
            returning=int(r.get("returning") or 0), resurrecting=int(r.get("resurrecting") or 0),
            dormant=-int(dormant_next.get(b, 0))))
    return LifecycleResult(timezone=requested.timezone, interval=unit, buckets=rows)
