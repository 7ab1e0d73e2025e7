"""Paths: which events users do right after (or before) an event — links for a Sankey."""

from __future__ import annotations

from typing import Annotated, Literal

import ibis
from pydantic import Field

from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange
from yunying.insights.documents import DateRangeDocument, Document, EventName


class PathsQuery(DateRangeDocument):
    kind: Literal["paths"] = "paths"
    event: EventName
    direction: Literal["after", "before"] = "after"
    steps: Annotated[int, Field(ge=1, le=10)] = 5
    exclude_events: Annotated[list[str], Field(default_factory=list, max_length=100)]


class PathLink(Document):
    depth: int
    source: str
    target: str
    users: int


class PathDropoff(Document):
    depth: int
    event: str
    users: int


class PathsResult(Result):
    kind: Literal["paths"] = "paths"
    event: str
    direction: str
    users: int
    links: list[PathLink]
    dropoff: list[PathDropoff]

    def rows(self) -> list[dict[str, object]]:
        return [link.model_dump() for link in self.links]


def run(query: PathsQuery, ctx: QueryContext) -> PathsResult:
    """Run a paths document; see docs/metrics.md 'Paths'."""
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    table = ctx.events_in(daterange, query.filters)
    excluded = [e for e in query.exclude_events if e != query.event]
    if excluded:
        table = table.filter(~table.event.isin(excluded))
    has_anchor = table.filter(table.event == query.event).select(ap="person_id").distinct()
    table = table.semi_join(has_anchor, table.person_id == has_anchor.ap)
    order = [table.timestamp, table.uuid]
    if query.direction == "before":
        order = [ibis.desc(table.timestamp), ibis.desc(table.uuid)]
    numbered = table.select("person_id", "event",
                            rn=ibis.row_number().over(group_by="person_id", order_by=order))
    anchors = numbered.filter(numbered.event == query.event).group_by("person_id").agg(arn=ibis._.rn.min())
    anchors = anchors.select(ap="person_id", arn="arn")
    path = numbered.join(anchors, numbered.person_id == anchors.ap)
    path = path.filter(path.rn.between(path.arn, path.arn + query.steps))
    path = path.select("person_id", "event", pos=(path.rn - path.arn).cast("int64"))
    nxt = path.select(np="person_id", npos=path.pos - 1, target="event")
    links = path.join(nxt, [path.person_id == nxt.np, path.pos == nxt.npos])
    links = links.group_by([(links.pos + 1).name("depth"), links.event.name("source"), "target"]) \
        .agg(users=ibis._.count())
    ends = path.group_by("person_id").agg(last=path.pos.max())
    ends = ends.select(ep="person_id", last="last")
    dropped = path.join(ends, [path.person_id == ends.ep, path.pos == ends.last])
    dropped = dropped.filter(dropped.pos < query.steps)
    dropped = dropped.group_by([dropped.pos.name("depth"), "event"]).agg(users=ibis._.count())
    users = anchors.count().to_pyarrow().as_py()
    link_rows = sorted(links.to_pyarrow().to_pylist(),
                       key=lambda r: (r["depth"], -r["users"], r["source"], r["target"]))
    drop_rows = sorted(dropped.to_pyarrow().to_pylist(), key=lambda r: (r["depth"], -r["users"], r["event"]))
    return PathsResult(
        timezone=daterange.timezone, event=query.event, direction=query.direction, users=int(users),
        links=[PathLink(**r) for r in link_rows], dropoff=[PathDropoff(**r) for r in drop_rows],
    )
