"""Funnel: how many users get through ordered steps within a conversion window."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from yunying.insights.base import QueryContext, Result
from yunying.insights.documents import (
    DateRangeDocument, Document, EventName, Filters, parse_window_seconds,
)


class FunnelStep(Document):
    event: EventName
    filters: Filters


class FunnelQuery(DateRangeDocument):
    kind: Literal["funnel"] = "funnel"
    steps: Annotated[list[FunnelStep], Field(min_length=1, max_length=20)]
    window: str = "14d"
    breakdown: str | None = None
    breakdown_limit: Annotated[int, Field(ge=1, le=1000)] = 25

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window_seconds(value)
        return value

    @property
    def window_seconds(self) -> int:
        return parse_window_seconds(self.window)


class FunnelStepResult(Document):
    step: int
    event: str
    count: int
    conversion_from_first: float
    conversion_from_previous: float
    median_seconds_to_convert: float | None
    median_seconds_from_first: float | None


class FunnelBreakdownResult(Document):
    breakdown_value: str | None
    steps: list[FunnelStepResult]


class FunnelResult(Result):
    kind: Literal["funnel"] = "funnel"
    window_seconds: int
    steps: list[FunnelStepResult]
    breakdowns: list[FunnelBreakdownResult] | None = None

    def rows(self) -> list[dict[str, object]]:
        groups = [(None, self.steps)] if not self.breakdowns else [
            (b.breakdown_value, b.steps) for b in self.breakdowns
        ]
        return [{"breakdown_value": value, **s.model_dump()} for value, steps in groups for s in steps]


def run(query: FunnelQuery, ctx: QueryContext) -> FunnelResult:
    raise NotImplementedError
