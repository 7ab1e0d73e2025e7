"""Who is in the experiment, in which arm, since when — and in which breakdown group.

The engine selects exposure rows (person, timestamp, arm, breakdown value); a numba pass
reduces them per user (docs/experiments.md, 'Exposure'):

* exposure-event assignment: every exposure event in the dates is a row, its arm from the
  variant property;
* hash assignment: one row per user, already reduced by the engine — the first trigger event
  in the dates, the arm from the hash of that event's distinct_id (the smallest distinct_id
  among trigger events at that instant), the breakdown the smallest value there.

A user whose rows name more than one arm is excluded (and counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yunying.experiments.assignment import variant_code_expr
from yunying.experiments.definition import Experiment, ExposureEventAssignment, HashAssignment
from yunying.experiments.kernels import person_index, reduce_exposures
from yunying.experiments.periods import Periods
from yunying.insights.base import QueryContext
from yunying.insights.filters import event_matches
from yunying.insights.funnel_kernel import dense_ids
from yunying.store.properties import property_string


@dataclass(frozen=True)
class Exposures:
    """The users of an analysis, one entry per user in every array (index = user index).

    ``arm``: the variant index, -1 for a user excluded for seeing several variants.
    ``exposed_us``: first exposure, µs since 1970 UTC. ``group``: index into ``group_values``
    (the breakdown's string forms, ascending, null last; ``[None]`` without a breakdown).
    """

    person: np.ndarray
    arm: np.ndarray
    exposed_us: np.ndarray
    group: np.ndarray
    group_values: list[str | None]

    @property
    def included(self) -> np.ndarray:
        return self.arm >= 0

    @property
    def excluded_users(self) -> int:
        return int((self.arm < 0).sum())

    def person_index(self) -> np.ndarray:
        """Per person id: (user index, first exposure µs) of the included users, user -1 elsewhere."""
        return person_index(self.person, self.arm, self.exposed_us)


def micros(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps (any unit, naive UTC or zoned) as int64 µs since 1970 UTC."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("us", tz=column.type.tz))
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


def value_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]]:
    """Codes that sort like the string values (ascending), null last."""
    values = sorted(pc.unique(column).drop_null().to_pylist())
    encoded = pc.index_in(column, value_set=pa.array(values, pa.string()))
    codes = pc.fill_null(encoded, len(values)).to_numpy().astype(np.int64)
    return codes, [*values, *([None] if column.null_count else [])]


def _breakdown(table: ir.Table, breakdown: str | None, engine: str) -> ir.StringValue:
    return property_string(table, breakdown, engine) if breakdown else ibis.null("string")


def exposure_event_rows(ctx: QueryContext, experiment: Experiment, periods: Periods,
                        breakdown: str | None) -> ir.Table:
    """Every exposure event of the experiment in its dates: person_id, timestamp, arm, value."""
    rule = experiment.assignment
    assert isinstance(rule, ExposureEventAssignment)
    table = ctx.events()
    conditions = [periods.dates.in_range(table.timestamp),
                  event_matches(table, rule.event, rule.filters, ctx.engine)]
    if rule.experiment_property is not None:
        named = property_string(table, rule.experiment_property, ctx.engine)
        conditions.append((named == ibis.literal(experiment.experiment_value, "string")).fill_null(False))
    variant = property_string(table, rule.variant_property, ctx.engine)
    arms = ((v.exposure_value, ibis.literal(i, "int64")) for i, v in enumerate(experiment.variants))
    arm = variant.cases(*arms, else_=ibis.null("int64"))
    rows = table.filter(*conditions).select(person_id=table.person_id, timestamp=table.timestamp, arm=arm,
                                          value=_breakdown(table, breakdown, ctx.engine))
    return rows.filter(rows.arm.notnull())


def hash_rows(ctx: QueryContext, experiment: Experiment, periods: Periods,
              breakdown: str | None) -> ir.Table:
    """One row per user with a trigger event in the dates: the first one's time, arm and value."""
    rule = experiment.assignment
    assert isinstance(rule, HashAssignment)
    table = ctx.events()
    triggers = table.filter(periods.dates.in_range(table.timestamp),
                            event_matches(table, rule.trigger_event, rule.filters, ctx.engine))
    triggers = triggers.select("person_id", "timestamp", "distinct_id",
                               value=_breakdown(triggers, breakdown, ctx.engine))
    first = triggers.group_by("person_id").agg(first_ts=triggers.timestamp.min())
    at_first = triggers.join(first, [triggers.person_id == first.person_id,
                                     triggers.timestamp == first.first_ts])
    users = at_first.group_by("person_id").agg(timestamp=at_first.timestamp.min(),
                                               distinct_id=at_first.distinct_id.min(),
                                               value=at_first.value.min())
    weights = [v.weight for v in experiment.variants]
    arm = variant_code_expr(experiment.key, users.distinct_id, weights)
    return users.select("person_id", "timestamp", arm=arm, value=users.value)


def exposures(ctx: QueryContext, experiment: Experiment, periods: Periods,
              breakdown: str | None = None) -> Exposures:
    """The experiment's users (see the module docstring)."""
    rows_of = hash_rows if isinstance(experiment.assignment, HashAssignment) else exposure_event_rows
    rows = rows_of(ctx, experiment, periods, breakdown).to_pyarrow()
    person = np.asarray(rows.column("person_id").to_numpy()).astype(np.int64, copy=False)
    user, n_users = dense_ids(person)
    if breakdown:
        codes, values = value_codes(rows.column("value"))
    else:
        codes, values = np.zeros(rows.num_rows, np.int64), [None]
    arm = np.asarray(rows.column("arm").to_numpy()).astype(np.int64, copy=False)
    first, low, high, group = reduce_exposures(user, micros(rows.column("timestamp")), arm, codes, n_users)
    persons = np.empty(n_users, np.int64)
    persons[user] = person
    return Exposures(person=persons, arm=np.where(low == high, low, -1), exposed_us=first,
                     group=group, group_values=values)
