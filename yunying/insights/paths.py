"""Paths: which events users do right after (or before) an event — links for a Sankey."""

from __future__ import annotations

from typing import Annotated, Literal

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import Field

from yunying.insights.base import QueryContext, Result, in_memory
from yunying.insights.daterange import DateRange
from yunying.insights.documents import DateRangeDocument, Document, EventName
from yunying.insights.paths_kernel import (
    NO_ANCHOR,
    Slots,
    ambiguous_spans,
    anchor_keys,
    apply_order,
    group_by_person,
    nearest_rows,
    walk,
)


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
    """Run a paths document; see docs/metrics.md 'Paths'.

    One read of the range's events (person, time, event as a code), a per-person walk in
    :mod:`yunying.insights.paths_kernel`, and — only when tied timestamps near an anchor could
    change a path — a second read of those few rows with their uuids.
    """
    daterange = DateRange(query.date_from, query.date_to, ctx.timezone_for(query.timezone))
    table = ctx.events_in(daterange, query.filters)
    excluded = [e for e in query.exclude_events if e != query.event]
    if excluded:
        table = table.filter(~table.event.isin(excluded))
    names = sorted(table.select("event").distinct().to_pyarrow().column("event").drop_null().to_pylist())
    result = PathsResult(timezone=daterange.timezone, event=query.event, direction=query.direction,
                         users=0, links=[], dropoff=[])
    if query.event not in names:
        return result
    coded = pa.table({"_path_name": pa.array(names, pa.string()),
                      "_path_code": pa.array(np.arange(len(names), dtype=np.int32))})
    with in_memory(ctx, coded) as codes:
        table = table.join(codes, table.event == codes._path_name)
        for _ in range(3):  # the events may change between the two reads (ingestion): read again
            walked = _walk(query, ctx, table, names.index(query.event))
            if walked is not None:
                break
        else:
            raise RuntimeError("the events changed while the paths query ran; run it again")
    path, length = walked
    result.users = int(np.count_nonzero(length))
    link_rows, drop_rows = _count(path, length, query.steps, names)
    result.links = [PathLink(depth=d, source=s, target=t, users=n) for d, s, t, n in link_rows]
    result.dropoff = [PathDropoff(depth=d, event=e, users=n) for d, e, n in drop_rows]
    return result


def _as_micros(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("us", tz=column.type.tz))
    return column.cast(pa.int64()).to_numpy()


def _walk(query: PathsQuery, ctx: QueryContext, table: ir.Table,
          anchor: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every anchored person's path as codes (position 0 the anchor, -1 past the end) and its
    length; None when the tied rows read second are not the rows the first read saw."""
    rows = table.select("person_id", "timestamp", code="_path_code").to_pyarrow()
    slots = Slots(rows.column("person_id").to_numpy().astype(np.int64, copy=False))
    ts = _as_micros(rows.column("timestamp"))
    code = rows.column("code").to_numpy().astype(np.int32, copy=False)
    before = query.direction == "before"
    key_a = anchor_keys(slots.of_rows, ts, code, slots.count, anchor, before)
    anchored = np.flatnonzero(key_a != NO_ANCHOR)  # person number -> slot
    number = np.full(slots.count, -1, np.int64)  # slot -> person number
    number[anchored] = np.arange(anchored.size)
    # rows mostly come in time order; the buffers fill fastest when the keys grow
    order = slice(None, None, -1 if before else 1)
    path, length, tied = nearest_rows(slots.of_rows[order], ts[order], code[order], number, key_a[anchored],
                                      query.steps + 1, before)
    redo = np.flatnonzero(tied)
    if redo.size:  # the general route for the persons whose buffer holds tied rows
        of_rows = number[slots.of_rows]
        picked = np.flatnonzero(of_rows >= 0)
        picked = picked[tied[of_rows[picked]]]
        g_ts, g_code, starts = group_by_person(of_rows[picked], ts[picked], code[picked], anchored.size)
        lo, hi = ambiguous_spans(g_ts, g_code, starts, anchor, query.steps, before)
        spans = np.flatnonzero(lo >= 0)
        if spans.size:
            tied_rows = _rows_in_spans(ctx, table, slots.person(anchored[spans]), g_ts[lo[spans]],
                                       g_ts[hi[spans]])
            if not apply_order(g_ts, g_code, lo, hi,
                               number[slots.slot(tied_rows.column("person_id").to_numpy())],
                               _as_micros(tied_rows.column("timestamp")),
                               tied_rows.column("code").to_numpy().astype(np.int32, copy=False)):
                return None
        g_path, g_length = walk(g_code, starts, anchor, query.steps, before)
        path[redo], length[redo] = g_path[redo], g_length[redo]
    return path, length


def _rows_in_spans(ctx: QueryContext, table: ir.Table, person: np.ndarray, lo_us: np.ndarray,
                   hi_us: np.ndarray) -> pa.Table:
    """The rows of each person from ``lo_us`` to ``hi_us`` (inclusive), in full order: by
    person, timestamp and uuid (*Ordering and ties*)."""
    spans = pa.table({"_span_person": pa.array(person, pa.int64()),
                      "_span_lo": pa.array(lo_us, pa.timestamp("us")),
                      "_span_hi": pa.array(hi_us, pa.timestamp("us"))})
    with in_memory(ctx, spans) as at:
        joined = table.join(at, [table.person_id == at._span_person, table.timestamp >= at._span_lo,
                                 table.timestamp <= at._span_hi])
        rows = joined.select("person_id", "timestamp", "uuid", code="_path_code").to_pyarrow()
    return rows.sort_by([("person_id", "ascending"), ("timestamp", "ascending"), ("uuid", "ascending")])


def _count(path: np.ndarray, length: np.ndarray, steps: int,
           names: list[str]) -> tuple[list[tuple[int, str, str, int]], list[tuple[int, str, int]]]:
    """Links (depth, source, target, users) and drop-off (depth, event, users), each ordered
    by depth, users descending, then names."""
    n = len(names)

    def tally(keys: np.ndarray) -> tuple[list[int], list[int]]:
        if n * n <= 1 << 16:  # few event names: count every pair in place
            counts = np.bincount(keys, minlength=1)
            found = np.flatnonzero(counts)
            return found.tolist(), counts[found].tolist()
        found, counts = np.unique(keys, return_counts=True)
        return found.tolist(), counts.tolist()

    links = []
    for d in range(1, steps + 1):
        on = path[length > d]
        if not on.size:
            break
        keys, counts = tally(on[:, d - 1].astype(np.int64) * n + on[:, d])
        links += [(d, names[k // n], names[k % n], c) for k, c in zip(keys, counts, strict=True)]
    ended = np.flatnonzero(length <= steps)
    last = length[ended] - 1
    keys, counts = tally(last * n + path[ended, last])
    dropoff = [(k // n, names[k % n], c) for k, c in zip(keys, counts, strict=True)]
    links.sort(key=lambda r: (r[0], -r[3], r[1], r[2]))
    dropoff.sort(key=lambda r: (r[0], -r[2], r[1]))
    return links, dropoff
