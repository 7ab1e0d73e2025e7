"""Funnel: how many users get through ordered steps within a conversion window."""

from __future__ import annotations

from typing import Annotated, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from yunying.insights.base import QueryContext, Result
from yunying.insights.daterange import DateRange
from yunying.insights.documents import (
    ANY_EVENT,
    DateRangeDocument,
    Document,
    EventName,
    Filters,
    parse_window_seconds,
)
from yunying.insights.filters import event_matches
from yunying.insights.funnel_kernel import dense_ids, funnel_pass
from yunying.store.properties import property_string


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


OTHER = "$other"


def _fetch_rows(query: FunnelQuery, ctx: QueryContext, daterange: DateRange) -> pa.Table:
    """One row per event matching at least one step: person, timestamp, step mask, value."""
    table = ctx.events_in(daterange, query.filters)
    mask: ir.IntegerValue = ibis.literal(0, "int64")
    if all(not step.filters for step in query.steps) and ANY_EVENT not in {s.event for s in query.steps}:
        # Steps by name only: one CASE on the event name (an event matching several steps
        # carries all their bits).
        bits: dict[str, int] = {}
        for i, step in enumerate(query.steps):
            bits[step.event] = bits.get(step.event, 0) | (1 << i)
        mask = table.event.cases(*((name, ibis.literal(bit, "int64")) for name, bit in bits.items()),
                                 else_=ibis.literal(0, "int64"))
    else:
        for i, step in enumerate(query.steps):
            matches = event_matches(table, step.event, step.filters, ctx.engine)
            mask = mask + ibis.ifelse(matches, ibis.literal(1 << i, "int64"), ibis.literal(0, "int64"))
    columns: dict[str, ir.Value] = {"person_id": table.person_id, "timestamp": table.timestamp,
                                    "mask": mask}
    if query.breakdown:
        columns["value"] = property_string(table, query.breakdown, ctx.engine)
    names = {s.event for s in query.steps}
    if ANY_EVENT not in names:  # prune before computing the mask
        table = table.filter(table.event.isin(sorted(names)))
    rows = table.select(**columns)
    return rows.filter(rows.mask != 0).to_pyarrow()


def _as_micros(column: pa.ChunkedArray) -> np.ndarray:
    column = column.cast(pa.timestamp("us", tz=column.type.tz)) if pa.types.is_timestamp(column.type) \
        else column
    return column.cast(pa.int64()).to_numpy()


def _value_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]]:
    """Codes that sort like the values (ascending string order), null last."""
    values = sorted(pc.unique(column).drop_null().to_pylist())
    encoded = pc.index_in(column, value_set=pa.array(values, pa.string()))
    codes = pc.fill_null(encoded, len(values)).to_numpy().astype(np.int64)
    return codes, [*values, *([None] if column.null_count else [])]


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def _steps_result(query: FunnelQuery, level: np.ndarray, reach: np.ndarray) -> list[FunnelStepResult]:
    steps = []
    counts = [int((level >= k).sum()) for k in range(1, len(query.steps) + 1)]
    for k, step in enumerate(query.steps, start=1):
        reached = level >= k
        to_convert = from_first = None
        if k >= 2:
            to_convert = _median((reach[reached, k - 1] - reach[reached, k - 2]) / 1e6)
            from_first = _median((reach[reached, k - 1] - reach[reached, 0]) / 1e6)
        first, previous = counts[0], counts[k - 2] if k >= 2 else counts[0]
        steps.append(FunnelStepResult(
            step=k, event=step.event, count=counts[k - 1],
            conversion_from_first=counts[k - 1] / first if first else 0.0,
            conversion_from_previous=(counts[k - 1] / previous if previous else 0.0) if k >= 2 else 1.0,
            median_seconds_to_convert=to_convert, median_seconds_from_first=from_first,
        ))
    return steps


def run(query: FunnelQuery, ctx: QueryContext) -> FunnelResult:
    """Run a funnel document; see docs/metrics.md 'Funnel'."""
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    rows = _fetch_rows(query, ctx, daterange)
    dense, n_persons = dense_ids(rows.column("person_id").to_numpy().astype(np.int64))
    if query.breakdown:
        codes, values = _value_codes(rows.column("value"))
    else:
        codes, values = np.zeros(rows.num_rows, np.int64), [None]
    level, reach, user_codes = funnel_pass(
        dense, _as_micros(rows.column("timestamp")),
        rows.column("mask").to_numpy().astype(np.int64), codes,
        n_persons, len(query.steps), query.window_seconds * 1_000_000,
    )
    in_funnel = level >= 1
    level, reach, user_codes = level[in_funnel], reach[in_funnel], user_codes[in_funnel]
    result = FunnelResult(timezone=daterange.timezone, window_seconds=query.window_seconds,
                          steps=_steps_result(query, level, reach))
    if query.breakdown:
        result.breakdowns = _breakdowns(query, level, reach, user_codes, values)
    return result


def _breakdowns(query: FunnelQuery, level: np.ndarray, reach: np.ndarray, user_codes: np.ndarray,
                values: list[str | None]) -> list[FunnelBreakdownResult]:
    sizes = np.bincount(user_codes, minlength=len(values)) if user_codes.size else \
        np.zeros(len(values), np.int64)
    ranked = sorted((c for c in range(len(values)) if sizes[c]),
                    key=lambda c: (-sizes[c], values[c] is None, values[c] or ""))
    kept, folded = ranked[: query.breakdown_limit], ranked[query.breakdown_limit:]
    groups: list[tuple[str | None, np.ndarray]] = [(values[c], user_codes == c) for c in kept]
    if folded:
        groups.append((OTHER, np.isin(user_codes, folded)))
    return [FunnelBreakdownResult(breakdown_value=value,
                                  steps=_steps_result(query, level[sel], reach[sel]))
            for value, sel in groups]
