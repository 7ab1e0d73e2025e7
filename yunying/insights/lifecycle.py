"""Lifecycle: new, returning, resurrecting and dormant users per bucket."""

from __future__ import annotations

from typing import Literal

from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import DateRangeDocument, Document, EventName, Interval


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
    raise NotImplementedError
