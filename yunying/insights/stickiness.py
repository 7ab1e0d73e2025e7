"""Stickiness: in how many days (weeks, months) of the range were users active."""

from __future__ import annotations

from typing import Literal

from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import DateRangeDocument, Document, EventName, Period


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
    raise NotImplementedError
