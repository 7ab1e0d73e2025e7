"""Paths: which events users do right after (or before) an event — links for a Sankey."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from yunying.insights.base import QueryContext, Result
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
    raise NotImplementedError
