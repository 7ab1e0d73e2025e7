"""Who is in the experiment, in which arm, since when — and in which breakdown group.

The engine selects exposure rows (person, timestamp, arm, breakdown value); a numba pass
reduces them per user (docs/experiments.md, 'Who is in the experiment'):

* exposure-event assignment: every exposure event in the dates is a row, its arm from the
  variant property;
* hash assignment: one row per user, already reduced by the engine — the first trigger event
  in the dates, the arm from the hash of that event's distinct_id (the smallest distinct_id
  among trigger events at that instant), the breakdown the smallest value there.

A user whose rows name more than one arm is excluded (and counted).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yunying.experiments.assignment import variant_code_expr
from yunying.experiments.definition import Experiment, ExposureEventAssignment, HashAssignment
from yunying.experiments.kernels import (
    FIRST,
    GROUP,
    HIGH,
    LOW,
    exposure_state,
    mark_persons,
    rank_persons,
    reduce_exposures,
)
from yunying.experiments.periods import Periods
from yunying.insights.base import QueryContext
from yunying.insights.filters import event_matches
from yunying.store.properties import json_string, property_string


@dataclass(frozen=True)
class Exposures:
    """The users of an analysis, one entry per user in every array (index = user index), in
    ascending person id.

    ``arm``: the variant index, -1 for a user excluded for seeing several variants.
    ``exposed_us``: first exposure, µs since 1970 UTC. ``group``: index into ``group_values``
    (the breakdown's string forms, ascending, null last; ``[None]`` without a breakdown).
    ``slot``: per person id, the user index of an included user, -1 for every other person.
    """

    person: np.ndarray
    arm: np.ndarray
    exposed_us: np.ndarray
    group: np.ndarray
    group_values: list[str | None]
    slot: np.ndarray

    @property
    def included(self) -> np.ndarray:
        return self.arm >= 0

    @property
    def excluded_users(self) -> int:
        return int((self.arm < 0).sum())


def value_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]]:
    """Codes that sort like the string values (ascending), null last."""
    values = sorted(pc.unique(column).drop_null().to_pylist())
    encoded = pc.index_in(column, value_set=pa.array(values, pa.string()))
    codes = pc.fill_null(encoded, len(values)).to_numpy().astype(np.int64)
    return codes, [*values, *([None] if column.null_count else [])]


def _breakdown(table: ir.Table, breakdown: str | None, engine: str) -> dict[str, ir.StringValue]:
    """``{"value": …}`` with a breakdown, else nothing (an all-null column is slow to fetch)."""
    return {"value": property_string(table, breakdown, engine)} if breakdown else {}


def exposure_event_rows(ctx: QueryContext, experiment: Experiment, periods: Periods,
                        breakdown: str | None) -> ir.Table:
    """Every exposure event of the experiment in its dates: person_id, timestamp, arm (-1: the
    variant property names no variant, not an exposure), value."""
    rule = experiment.assignment
    assert isinstance(rule, ExposureEventAssignment)
    table = ctx.events()
    conditions = [periods.dates.in_range(table.timestamp),
                  event_matches(table, rule.event, rule.filters, ctx.engine)]
    if rule.experiment_property is not None:
        named = property_string(table, rule.experiment_property, ctx.engine)
        conditions.append((named == ibis.literal(experiment.experiment_value, "string")).fill_null(False))
    rows = table.filter(*conditions).select(person_id=table.person_id, timestamp=table.timestamp,
                                          variant=property_string(table, rule.variant_property, ctx.engine),
                                          **_breakdown(table, breakdown, ctx.engine))
    # The arm from the variant's column, not from the lookup again, and no filter on it: DuckDB
    # would evaluate the JSON lookup once per WHEN and once more for the filter. Rows of no
    # variant get -1 and are skipped by the pass.
    arms = ((v.exposure_value, ibis.literal(i, "int64")) for i, v in enumerate(experiment.variants))
    arm = rows.variant.cases(*arms, else_=ibis.literal(-1, "int64"))
    return rows.select("person_id", "timestamp", arm=arm, **({"value": rows.value} if breakdown else {}))


def hash_rows(ctx: QueryContext, experiment: Experiment, periods: Periods,
              breakdown: str | None) -> ir.Table:
    """One row per user with a trigger event in the dates: the first one's time, arm and value."""
    rule = experiment.assignment
    assert isinstance(rule, HashAssignment)
    table = ctx.events()
    triggers = table.filter(periods.dates.in_range(table.timestamp),
                            event_matches(table, rule.trigger_event, rule.filters, ctx.engine))
    triggers = triggers.select("person_id", "timestamp", "distinct_id",
                               **_breakdown(triggers, breakdown, ctx.engine))
    first = triggers.group_by("person_id").agg(first_ts=triggers.timestamp.min())
    at_first = triggers.join(first, [triggers.person_id == first.person_id,
                                     triggers.timestamp == first.first_ts])
    value = {"value": at_first.value.min()} if breakdown else {}
    users = at_first.group_by("person_id").agg(timestamp=at_first.timestamp.min(),
                                               distinct_id=at_first.distinct_id.min(), **value)
    weights = [v.weight for v in experiment.variants]
    arm = variant_code_expr(experiment.key, users.distinct_id, weights)
    return users.select("person_id", "timestamp", arm=arm, **({"value": users.value} if breakdown else {}))


def numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column as numpy (no copy for one chunk without nulls); timestamps as int64 µs since 1970
    UTC. Only floats may hold nulls (Spark's results come through pandas, where NaN is null):
    they become NaN."""
    if pa.types.is_timestamp(column.type):
        if column.type.unit != "us":
            column = column.cast(pa.timestamp("us", tz=column.type.tz))
        return np.asarray(column.to_numpy()).view(np.int64)  # datetime64[us] -> its integer, no copy
    if column.null_count and pa.types.is_floating(column.type):
        column = pc.fill_null(column, float("nan"))
    return np.asarray(column.to_numpy())


def exposure_rows(ctx: QueryContext, experiment: Experiment, periods: Periods,
                  breakdown: str | None = None) -> pa.Table:
    """The exposure rows of the experiment's assignment, read: person_id, timestamp, arm (, value)."""
    rows_of = hash_rows if isinstance(experiment.assignment, HashAssignment) else exposure_event_rows
    return rows_of(ctx, experiment, periods, breakdown).to_pyarrow()


def exposures(ctx: QueryContext, experiment: Experiment, periods: Periods,
              breakdown: str | None = None) -> Exposures:
    """The experiment's users (see the module docstring)."""
    return exposures_of(exposure_rows(ctx, experiment, periods, breakdown), breakdown)


def exposures_of(rows: pa.Table, breakdown: str | None = None) -> Exposures:
    """The users of exposure rows (:func:`exposure_rows`), reduced per user."""
    values: list[str | None] = [None]
    if rows.num_rows == 0:
        empty = np.zeros(0, np.int64)
        return Exposures(person=empty, arm=empty, exposed_us=empty, group=empty, group_values=values,
                         slot=empty)
    present = np.zeros(pc.max(rows.column("person_id")).as_py() + 1, np.uint8)
    batches = rows.to_batches()
    for batch in batches:
        mark_persons(numbers(batch.column("person_id")), numbers(batch.column("arm")), present)
    slot, persons = rank_persons(present)
    state = exposure_state(persons.size)
    codes = np.zeros(max(b.num_rows for b in batches), np.int64)  # no breakdown: one group
    if breakdown:
        codes, values = value_codes(rows.column("value"))
    start = 0
    for batch in batches:
        end = start + batch.num_rows
        group = codes[start:end] if breakdown else codes[:batch.num_rows]
        reduce_exposures(numbers(batch.column("person_id")), numbers(batch.column("timestamp")),
                         numbers(batch.column("arm")), group, slot, state)
        start = end
    low, high = state[:, LOW], state[:, HIGH]
    arm = np.where(low == high, low, -1)
    slot[persons[arm < 0]] = -1
    return Exposures(person=persons, arm=arm, exposed_us=state[:, FIRST].copy(), group=state[:, GROUP].copy(),
                     group_values=values, slot=slot)


def with_person_breakdown(ctx: QueryContext, users: Exposures, key: str) -> Exposures:
    """``users`` grouped by the user property ``key``: its string form in each user's profile as
    it is now (null for a user without a profile or without the key)."""
    if users.person.size == 0:
        return replace(users, group_values=[None])
    profiles = ctx.store.person_profiles(ctx.project)
    rows = profiles.select(person_id=profiles.person_id,
                           value=json_string(profiles, key, ctx.engine)).to_pyarrow()
    person = numbers(rows.column("person_id"))
    # users are in ascending person id: a profile's user by binary search, -1 when not a user
    at = np.minimum(np.searchsorted(users.person, person), users.person.size - 1)
    user = np.where(users.person[at] == person, at, -1)
    codes, values = value_codes(rows.column("value"))
    named = [v for v in values if v is not None]  # codes: 0 … len(named) - 1, then null
    group = np.full(users.person.size, len(named), np.int64)
    group[user[user >= 0]] = codes[user >= 0]
    return replace(users, group=group, group_values=[*named, None])
