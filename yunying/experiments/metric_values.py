"""Per-user metric values: one engine read of every metric's events, one numba pass per part.

Every metric is made of *parts*: per user, the count of matching events or the sum of a
property's numeric values, over the events after first exposure (within the metric's window,
in the experiment's dates) and, for the CUPED covariate, over the pre-period. A conversion is a
count read as 0/1, a mean is a sum over a count of the events with a number, a ratio two parts.
Parts shared by several metrics are read once.

The engine selects the rows that feed some part — person, timestamp, period (2: the dates,
1: the pre-period) and one column per part (its value, null where the row does not count) —
with the same Ibis expression on DuckDB and Spark; :func:`kernels.accumulate` sums them per
user. When the experiment has few users, the read is limited to them (a semi-join on their ids).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from yunying.experiments.definition import (
    Aggregate,
    ConversionMetric,
    CountMetric,
    MeanMetric,
    Metric,
    QuantileMetric,
    RatioMetric,
    SumMetric,
)
from yunying.experiments.exposure import Exposures, numbers
from yunying.experiments.kernels import NOT_EXPOSED, accumulate
from yunying.experiments.periods import Periods
from yunying.insights.base import QueryContext, in_memory
from yunying.insights.documents import ANY_EVENT, PropertyFilter
from yunying.insights.filters import event_matches
from yunying.store.properties import DECIMAL_NUMBER, property_string

# Above this many users the read takes every metric event of the dates and drops the others in
# the pass: a semi-join on millions of ids costs more than the rows it saves.
SEMI_JOIN_MAX_USERS = 1_000_000
# Totals are kept per person id (one random read per row instead of two) while the largest
# person id is at most this many times the number of users; beyond, per user.
BY_PERSON_MAX_SPREAD = 2
PRE, DATES = 1, 2
NAN = ibis.literal(float("nan"), "float64")  # "not a number here": columns stay free of nulls


@dataclass(frozen=True)
class Part:
    """Per user: ``count`` of matching events (with ``property``: of those where it is a number)
    or ``sum`` of ``property``'s numbers, within ``window_seconds`` of first exposure (None: no limit)."""

    aggregation: Literal["sum", "count"]
    event: str
    property: str | None
    window_seconds: int | None
    filters_key: str  # the filters as JSON: parts are equal when these are (filters may hold lists)
    filters: tuple[PropertyFilter, ...] = field(compare=False, hash=False)


def _part(aggregation: Literal["sum", "count"], event: str, filters: Sequence[PropertyFilter],
          prop: str | None, window: int | None) -> Part:
    key = json.dumps([f.model_dump(mode="json") for f in filters], sort_keys=True)
    return Part(aggregation, event, prop, window, key, tuple(filters))


def metric_parts(metric: Metric) -> tuple[Part, ...]:
    """The parts of a metric: (value,) or (numerator, denominator)."""
    window = metric.window_seconds
    if isinstance(metric, ConversionMetric | CountMetric):
        return (_part("count", metric.event, metric.filters, None, window),)
    if isinstance(metric, SumMetric):
        return (_part("sum", metric.event, metric.filters, metric.property, window),)
    if isinstance(metric, QuantileMetric):
        aggregation: Literal["sum", "count"] = "count" if metric.property is None else "sum"
        return (_part(aggregation, metric.event, metric.filters, metric.property, window),)
    if isinstance(metric, MeanMetric):
        return (_part("sum", metric.event, metric.filters, metric.property, window),
                _part("count", metric.event, metric.filters, metric.property, window))
    if isinstance(metric, RatioMetric):
        return tuple(_aggregate_part(a, window) for a in (metric.numerator, metric.denominator))
    raise TypeError(f"unknown metric {type(metric).__name__}")


def _aggregate_part(aggregate: Aggregate, window: int | None) -> Part:
    return _part(aggregate.aggregation, aggregate.event, aggregate.filters, aggregate.property, window)


MASK_BITS = 62  # parts per mask column (int64, sign bit left alone)


def _matches(table: ir.Table, part: Part, engine: str) -> ir.BooleanValue:
    return event_matches(table, part.event, part.filters, engine)


def _mask(table: ir.Table, parts: Sequence[Part], engine: str) -> ir.IntegerValue:
    """Bit i set when the row is part i's event and passes its filters."""
    if all(not p.filters and p.event != ANY_EVENT for p in parts):
        bits: dict[str, int] = {}
        for i, part in enumerate(parts):  # by name only: one CASE on the event name
            bits[part.event] = bits.get(part.event, 0) | (1 << i)
        return table.event.cases(*((name, ibis.literal(bit, "int64")) for name, bit in bits.items()),
                                 else_=ibis.literal(0, "int64"))
    mask: ir.IntegerValue = ibis.literal(0, "int64")
    for i, part in enumerate(parts):
        mask = mask + ibis.ifelse(_matches(table, part, engine), ibis.literal(1 << i, "int64"),
                                  ibis.literal(0, "int64"))
    return mask


def properties_of(parts: Sequence[Part]) -> list[str]:
    """The properties some part reads, in order of first use (column n<i> of the rows)."""
    return list(dict.fromkeys(p.property for p in parts if p.property is not None))


def part_rows(ctx: QueryContext, parts: Sequence[Part], periods: Periods,
              persons: ir.Table | None = None) -> ir.Table:
    """The rows feeding some part: person_id, timestamp, period (2: dates, 1: pre-period),
    m0, m1 … (bit i of m<j> set: the row is part 62·j + i's event and passes its filters) and
    n0, n1 … (the numeric value of property i of :func:`properties_of`, read only on rows of a
    part that uses it; NaN when it is not a number). No column holds a null. ``persons``: a
    table of the person ids the rows are limited to."""
    table = ctx.events()
    in_dates = periods.dates.in_range(table.timestamp)
    in_pre = periods.pre.in_range(table.timestamp) if periods.pre is not None else ibis.literal(False)
    names = {p.event for p in parts}
    conditions = [in_dates | in_pre]
    if ANY_EVENT not in names:
        conditions.insert(0, table.event.isin(sorted(names)))
    if persons is not None:
        conditions.append(table.person_id.isin(persons.person_id))
    columns: dict[str, ir.Value] = {
        "person_id": table.person_id, "timestamp": table.timestamp,
        "period": ibis.ifelse(in_dates, ibis.literal(DATES, "int8"), ibis.literal(PRE, "int8")),
    }
    masks = [f"m{j // MASK_BITS}" for j in range(0, len(parts), MASK_BITS)]
    for j, name in enumerate(masks):
        columns[name] = _mask(table, parts[j * MASK_BITS:(j + 1) * MASK_BITS], ctx.engine)
    props = properties_of(parts)
    for i, prop in enumerate(props):
        used = ibis.literal(False)
        for part in parts:
            if part.property == prop:
                used = used | _matches(table, part, ctx.engine)
        columns[f"n{i}"] = ibis.ifelse(used, property_string(table, prop, ctx.engine), ibis.null("string"))
    rows = table.filter(*conditions).select(**columns)
    # The number from the looked-up text in a second projection: written as one expression,
    # DuckDB would run the JSON lookup twice (for the pattern test and for the cast).
    rows = rows.select("person_id", "timestamp", "period", *masks,
                       **{f"n{i}": number_of(rows[f"n{i}"]) for i in range(len(props))})
    counted = ibis.literal(False)
    for name in masks:
        counted = counted | (rows[name] != 0)
    return rows.filter(counted)


def number_of(text: ir.StringValue) -> ir.FloatingValue:
    """docs/metrics.md 'Property values': the numeric value of a string form, NaN for none."""
    return ibis.ifelse(text.re_search(DECIMAL_NUMBER), text.try_cast("float64"), NAN).fill_null(NAN)


@dataclass(frozen=True)
class PartValues:
    """Each part's totals after exposure and in the pre-period, one entry per *row*: a row per
    user (``rows`` None) or per person id (``rows[u]`` is user u's row; the other rows are no
    included user's and must not be counted)."""

    post: dict[Part, np.ndarray]
    pre: dict[Part, np.ndarray]
    rows: np.ndarray | None = None

    def per_row(self, per_user: np.ndarray, fill: int) -> np.ndarray:
        """A per-user array laid out by row (``fill`` in rows of no user)."""
        if self.rows is None:
            return per_user
        size = next(iter(self.post.values())).shape[0] if self.post else 0
        out = np.full(size, fill, per_user.dtype)
        out[self.rows] = per_user
        return out


def _stack(columns: list[np.ndarray], rows: int, dtype: type) -> np.ndarray:
    """Columns as the rows of one 2-D array (a view when there is one)."""
    if len(columns) == 1:
        return columns[0].reshape(1, -1)
    return np.stack(columns) if columns else np.zeros((0, rows), dtype)


def persons_to_read(users: Exposures) -> np.ndarray | None:
    """The persons a read of metric rows is limited to (None: every person, see SEMI_JOIN_MAX_USERS)."""
    included = users.person[users.included]
    return included if included.size <= SEMI_JOIN_MAX_USERS else None


def read_part_rows(ctx: QueryContext, parts: Sequence[Part], periods: Periods,
                   persons: np.ndarray | None = None) -> pa.Table:
    """:func:`part_rows`, read (``persons``: only theirs)."""
    if persons is None:
        return part_rows(ctx, parts, periods).to_pyarrow()
    with in_memory(ctx, pa.table({"person_id": pa.array(persons, pa.int64())})) as users:
        return part_rows(ctx, parts, periods, users).to_pyarrow()


def part_values(ctx: QueryContext, parts: Sequence[Part], periods: Periods, users: Exposures) -> PartValues:
    """Read the parts' rows once and total them per user (excluded users stay 0)."""
    parts = list(dict.fromkeys(parts))
    n_users, k = users.arm.size, len(parts)
    # Totals by person id when the person ids are not much more than the users (no lookup per
    # row), else by user through users.slot; column 0 holds the first exposure (int64, a view).
    by_person = users.slot.size <= BY_PERSON_MAX_SPREAD * n_users
    rows_of_users = users.person if by_person else np.arange(n_users)
    totals = np.zeros((users.slot.size if by_person else n_users, 1 + 2 * k))
    exposure = totals.view(np.int64)
    exposure[:, 0] = NOT_EXPOSED
    included = users.included
    exposure[rows_of_users[included], 0] = users.exposed_us[included]
    if parts and included.any():
        rows = read_part_rows(ctx, parts, periods, persons_to_read(users))
        props = properties_of(parts)
        layout = (tuple(i // MASK_BITS for i in range(k)), tuple(i % MASK_BITS for i in range(k)),
                  tuple(-1 if p.property is None else props.index(p.property) for p in parts),
                  tuple(p.aggregation == "sum" for p in parts),
                  tuple(-1 if p.window_seconds is None else p.window_seconds * 1_000_000 for p in parts))
        slot = np.zeros(0, np.int64) if by_person else users.slot
        for batch in rows.to_batches():  # no copies: each batch's columns are read in place
            masks = [numbers(batch.column(f"m{j}")) for j in range((k + MASK_BITS - 1) // MASK_BITS)]
            values = [numbers(batch.column(f"n{i}")) for i in range(len(props))]
            accumulate(numbers(batch.column("person_id")), numbers(batch.column("timestamp")),
                       numbers(batch.column("period")), _stack(masks, batch.num_rows, np.int64),
                       _stack(values, batch.num_rows, np.float64), *layout, slot, totals, exposure)
    return PartValues({p: totals[:, 1 + i] for i, p in enumerate(parts)},
                      {p: totals[:, 1 + k + i] for i, p in enumerate(parts)},
                      rows_of_users if by_person else None)
