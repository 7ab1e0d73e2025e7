"""Hypothesis strategies: random event logs that hit the hard cases, and random documents.

The hard cases, on purpose:

* ties — most timestamps are drawn from a small pool, so equal timestamps are common;
* boundaries — local midnight, the last microsecond of a day, Monday 00:00, month starts, and
  the DST switch days of America/New_York and Europe/Berlin (the skipped hour and both
  folds of the repeated hour), next to Asia/Shanghai (no DST);
* few users (1–5) with many events each; repeated step events (``view → view``);
* properties that are missing, JSON null, unicode (中文, emoji), numbers and numeric strings
  (``12`` and ``"12"``, ``12.0``, ``" 7"``, ``"1e3"``), booleans, objects and arrays; keys
  with dots and the materialised ``$browser``/``channel`` columns;
* date ranges that are a single day, hold no events, or lie before/after every event;
* filters with every operator, including properties and events that do not exist.

Values whose string form docs/metrics.md leaves open (see the report in
``tests/test_insights_oracle.py``) are kept out of *filter values* on purpose.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

Event = dict[str, Any]
Document = dict[str, Any]

ZONES = ("Asia/Shanghai", "America/New_York", "Europe/Berlin")
# Local dates worth centring a log on, per zone: DST switch days (all Sundays), month and
# week starts (2024-01-01 and 2024-04-01 are Mondays).
CENTRES: dict[str, tuple[dt.date, ...]] = {
    "Asia/Shanghai": (dt.date(2024, 1, 1), dt.date(2024, 2, 29)),
    "America/New_York": (dt.date(2024, 3, 10), dt.date(2024, 11, 3)),
    "Europe/Berlin": (dt.date(2024, 3, 31), dt.date(2024, 10, 27)),
}
SPAN_DAYS = 9  # events fall within centre ± SPAN_DAYS (local dates)

USERS = ("u1", "u2", "u3", "用户4", "😀5")
EVENT_NAMES = ("view", "cart", "buy", "$pageview", "注册")
PROPERTY_KEYS = ("plan", "price", "$browser", "channel", "商品名称", "a.b")
MISSING_PROPERTY = "nope"
MISSING_EVENT = "never_happens"
ANY_EVENT = "$any"
TEXTS = ("free", "pro", "Pro", "PRO", "中文", "商品😀", "😀", "", " ", "Ärger", "äRGER", "a.b",
         "12", "3.5", " 7", "-2", "1e3", "0.10", "abc")
FLOATS = (1.5, 2.25, -3.5, 0.1, 12.0, 2.0, 1e-7, 1e21, -0.5)
NEEDLES = ("r", "R", "中", "😀", "pro", "ä", "Ä", "", "1", ".", "RG")

_PROFILE_SCALE = {"thorough": 10}


def examples(n: int) -> int:
    """``n`` examples, scaled by the Hypothesis profile (``thorough``: ×10)."""
    return n * _PROFILE_SCALE.get(os.environ.get("HYPOTHESIS_PROFILE", "dev"), 1)


# ----------------------------------------------------------------------------- event logs
@dataclass
class Scenario:
    """A random event log, its project time zone, and the local date it is centred on."""

    timezone: str
    centre: dt.date
    events: list[Event]
    names: tuple[str, ...] = EVENT_NAMES  # the event names the log uses

    def __repr__(self) -> str:
        rows = ",\n    ".join(
            f"({e['uuid'][:8]!r}, {e['distinct_id']!r}, {e['event']!r}, "
            f"{e['timestamp'].isoformat()!r}, {e['properties']!r})"
            for e in self.events
        )
        return (f"Scenario(timezone={self.timezone!r}, centre={self.centre!r}, "
                f"events=[  # (uuid, user, event, UTC timestamp, properties)\n    {rows}])")


def to_utc(local: dt.datetime, timezone: str, fold: int = 0) -> dt.datetime:
    """Naive UTC instant of a local wall-clock time (``fold`` picks the repeated hour)."""
    aware = local.replace(tzinfo=ZoneInfo(timezone), fold=fold)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


_SPECIAL_TIMES = (
    dt.time(0, 0), dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999_999), dt.time(12, 0),
    dt.time(1, 30), dt.time(2, 0), dt.time(2, 30), dt.time(3, 0), dt.time(2, 59, 59, 999_999),
)


@st.composite
def timestamps(draw: st.DrawFn, timezone: str, centre: dt.date,
               busy_days: tuple[int, ...] = (0,)) -> dt.datetime:
    """A UTC instant near ``centre`` — mostly on one of the ``busy_days`` (offsets from the
    centre), often on a local boundary or in a DST switch."""
    offsets = st.integers(-SPAN_DAYS, SPAN_DAYS)
    day = centre + dt.timedelta(days=draw(st.sampled_from(busy_days) if draw(st.integers(0, 3))
                                          else offsets))
    kind = draw(st.sampled_from(["special", "special", "hour", "any", "utc_midnight"]))
    if kind == "utc_midnight":
        return dt.datetime.combine(day, dt.time())
    if kind == "special":
        clock = draw(st.sampled_from(_SPECIAL_TIMES))
    elif kind == "hour":
        clock = dt.time(draw(st.integers(0, 23)))
    else:
        clock = draw(st.times())
    return to_utc(dt.datetime.combine(day, clock), timezone, fold=draw(st.integers(0, 1)))


PROPERTY_VALUES = st.one_of(
    st.none(),
    st.sampled_from(TEXTS),
    st.integers(-5, 100),
    st.sampled_from(FLOATS),
    st.booleans(),
    st.sampled_from([{"x": 1, "名": "值"}, [1, "a", None, 2.5], {}]),
)
PROPERTIES = st.dictionaries(st.sampled_from(PROPERTY_KEYS), PROPERTY_VALUES, max_size=4)


@st.composite
def scenarios(draw: st.DrawFn, max_events: int = 40, dense: bool = False) -> Scenario:
    """A random event log (0–``max_events`` events) in a random zone, unique uuids.

    ``dense``: half of the logs crowd on the eight consecutive days around the centre instead,
    so that users come back on the next day and two adjacent periods both hold data."""
    timezone = draw(st.sampled_from(ZONES))
    centre = draw(st.sampled_from(CENTRES[timezone]) if draw(st.integers(0, 3)) else
                  st.sampled_from([d for ds in CENTRES.values() for d in ds]))
    # Events crowd on a few local days (the centre — a DST switch day — and its neighbours
    # most of all) so that short ranges and hourly buckets see data.
    busy_days = (0, *draw(st.lists(st.integers(-3, 3) | st.integers(-SPAN_DAYS, SPAN_DAYS),
                                   max_size=3)))
    if dense and draw(st.booleans()):
        busy_days = tuple(range(-4, 4))
    pool = draw(st.lists(timestamps(timezone, centre, busy_days), min_size=1, max_size=8))
    users = draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=5, unique=True))
    names = draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(0, max_events) | st.integers(max_events // 2, max_events))
    uuids = draw(st.lists(st.uuids(), min_size=n, max_size=n, unique=True))
    events = []
    for uuid in uuids:
        fresh = not draw(st.integers(0, 2))  # one in three: a new instant, else a tie
        ts = draw(timestamps(timezone, centre, busy_days) if fresh else st.sampled_from(pool))
        events.append({
            "uuid": str(uuid),
            "event": draw(st.sampled_from(names)),
            "distinct_id": draw(st.sampled_from(users)),
            "timestamp": ts,
            "properties": draw(PROPERTIES),
        })
    return Scenario(timezone, centre, events, tuple(names))


# ----------------------------------------------------------------------------- documents
_FILTER_SCALARS = st.one_of(st.sampled_from(TEXTS), st.integers(-5, 100),
                            st.sampled_from([1.5, 2.25, -3.5, 0.1, -0.5]), st.booleans())


@st.composite
def filters_(draw: st.DrawFn) -> dict[str, Any]:
    """One filter with any operator, on a real or a missing property.

    Integer-valued floats (``12.0``) are not drawn as values: their string form is a doc gap.
    """
    prop = draw(st.sampled_from((*PROPERTY_KEYS, MISSING_PROPERTY)))
    operator = draw(st.sampled_from(["eq", "neq", "contains", "not_contains", "icontains",
                                     "gt", "gte", "lt", "lte", "is_set", "is_not_set"]))
    flt: dict[str, Any] = {"property": prop, "operator": operator}
    if operator in ("eq", "neq"):
        flt["value"] = draw(st.one_of(_FILTER_SCALARS,
                                      st.lists(_FILTER_SCALARS, min_size=1, max_size=3)))
    elif operator in ("contains", "not_contains", "icontains"):
        flt["value"] = draw(st.sampled_from(NEEDLES))
    elif operator in ("gt", "gte", "lt", "lte"):
        flt["value"] = draw(st.sampled_from([-3.5, 0, 2, 2.25, 7, 12, 100]))
    return flt


def filter_lists(max_size: int = 2) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(filters_(), max_size=max_size)


def event_names(scenario: Scenario, any_event: bool = True) -> st.SearchStrategy[str]:
    """Mostly a name the log uses; sometimes ``$any``, another name or one never seen."""
    options = (*EVENT_NAMES, MISSING_EVENT) + (("$any",) if any_event else ())
    return st.sampled_from(scenario.names) | st.sampled_from(scenario.names) | st.sampled_from(options)


@st.composite
def date_ranges(draw: st.DrawFn, scenario: Scenario, max_days: int = 14) -> Document:
    """``date_from``/``date_to`` (ISO strings) around the log; sometimes far from every event,
    and ``timezone`` omitted (the project's), the project's, or another zone."""
    near = st.sampled_from([0, 0, -1, 1])  # on or next to the DST switch (the busiest day)
    offset = draw(st.one_of(near, near, near, st.integers(-SPAN_DAYS - 2, SPAN_DAYS),
                            st.sampled_from([-40, 30])))  # far from every event
    date_from = scenario.centre + dt.timedelta(days=offset)
    date_to = date_from + dt.timedelta(days=draw(st.integers(0, max_days)))
    doc: Document = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    zone = draw(st.sampled_from([None, None, scenario.timezone, *ZONES]))
    if zone is not None:
        doc["timezone"] = zone
    if not draw(st.integers(0, 2)) and (filters := draw(filter_lists(1))):
        doc["filters"] = filters
    return doc


def _short_range(doc: Document, days: int) -> bool:
    span = dt.date.fromisoformat(doc["date_to"]) - dt.date.fromisoformat(doc["date_from"])
    return span.days < days


_VALUE_MATHS = ("sum", "avg", "min", "max", "median", "p90")
_FORMULAS_2 = ("A+B", "B/A*100", "(A-B)*2", "A/B", "A-B/2", "-A+B")
_FORMULAS_1 = ("A*2", "A/2+1", "(A+1)/(A-1)", "-A")


@st.composite
def trends_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "trends", **draw(date_ranges(scenario))}
    series = []
    for _ in range(draw(st.integers(1, 3))):
        s: dict[str, Any] = {"event": draw(event_names(scenario))}
        maths = st.sampled_from(["total", "unique_users", *_VALUE_MATHS])
        s["math"] = draw(maths)
        if s["math"] in _VALUE_MATHS:
            keys = ("price", "price", "plan", "a.b", MISSING_PROPERTY)
            s["property"] = draw(st.sampled_from(keys))
        if f := draw(filter_lists(1)):
            s["filters"] = f
        series.append(s)
    doc["series"] = series
    doc["interval"] = draw(st.sampled_from(
        ["hour", "day", "week", "month"] if _short_range(doc, 3) else ["day", "week", "month"]))
    if draw(st.booleans()):
        doc["breakdown"] = draw(st.sampled_from((*PROPERTY_KEYS, MISSING_PROPERTY)))
        if draw(st.booleans()):
            doc["breakdown_limit"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        doc["compare"] = True
    if draw(st.booleans()):
        doc["formula"] = draw(st.sampled_from(_FORMULAS_2 if len(series) > 1 else _FORMULAS_1))
    return doc


WINDOWS = ("1s", "30s", "1m", "30m", "1h", "1d", "2d", "7d", "14d", "1w")


@st.composite
def funnel_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "funnel", **draw(date_ranges(scenario))}
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        step: dict[str, Any] = {"event": draw(event_names(scenario))}
        if f := draw(st.lists(filters_(), max_size=1)):
            step["filters"] = f
        steps.append(step)
    if len(steps) > 1 and draw(st.booleans()):  # repeated step events: view → view
        steps[1] = dict(steps[0])
    doc["steps"] = steps
    if window := draw(st.sampled_from((None, *WINDOWS))):
        doc["window"] = window
    if draw(st.booleans()):
        doc["breakdown"] = draw(st.sampled_from((*PROPERTY_KEYS, MISSING_PROPERTY)))
        if draw(st.booleans()):
            doc["breakdown_limit"] = draw(st.integers(1, 3))
    return doc


@st.composite
def retention_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "retention", **draw(date_ranges(scenario, max_days=20))}
    doc["start_event"] = draw(event_names(scenario))
    doc["return_event"] = draw(event_names(scenario))
    if f := draw(st.lists(filters_(), max_size=1)):
        doc["start_filters"] = f
    if f := draw(st.lists(filters_(), max_size=1)):
        doc["return_filters"] = f
    doc["period"] = draw(st.sampled_from(["day", "week", "month"]))
    doc["periods"] = draw(st.integers(1, 6))
    return doc


@st.composite
def stickiness_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "stickiness", **draw(date_ranges(scenario, max_days=20))}
    doc["event"] = draw(event_names(scenario))
    doc["interval"] = draw(st.sampled_from(["day", "week", "month"]))
    return doc


@st.composite
def lifecycle_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "lifecycle", **draw(date_ranges(scenario))}
    doc["event"] = draw(event_names(scenario))
    doc["interval"] = draw(st.sampled_from(
        ["hour", "day", "week", "month"] if _short_range(doc, 3) else ["day", "week", "month"]))
    return doc


@st.composite
def paths_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    doc: Document = {"kind": "paths", **draw(date_ranges(scenario))}
    doc["event"] = draw(event_names(scenario, any_event=False))
    doc["direction"] = draw(st.sampled_from(["after", "before"]))
    doc["steps"] = draw(st.integers(1, 5))
    others = [n for n in EVENT_NAMES if n != doc["event"]]
    if excluded := draw(st.lists(st.sampled_from(others), max_size=2, unique=True)):
        doc["exclude_events"] = excluded
    return doc


@st.composite
def overview_documents(draw: st.DrawFn, scenario: Scenario) -> Document:
    """An overview: short and long ranges, so that the previous period and the 7- and 30-day
    windows ending on ``date_to`` reach before the log, cut through it or straddle DST days;
    with and without ``revenue`` and ``conversion``; filters more often than elsewhere (they
    decide whose first event ever is where)."""
    doc: Document = {"kind": "overview",
                     **draw(date_ranges(scenario, max_days=draw(st.sampled_from([0, 2, 6, 14, 45]))))}
    if draw(st.booleans()):  # anchored on date_to: the period ends inside, after or before the log
        # Mostly both periods on the busy days around the centre, so both have numbers; or
        # the first day of the 7- or 30-day window on the centre (the busiest day) or next to it.
        busy = st.tuples(st.integers(0, 4), st.sampled_from([1, 2, 2, 3, 4]))
        window_edge = st.tuples(st.sampled_from([5, 6, 7, 28, 29, 30]), st.integers(1, 8))
        wide = st.tuples(st.integers(-SPAN_DAYS - 2, SPAN_DAYS + 31), st.integers(1, 45))
        end_offset, days = draw(busy | busy | window_edge | wide)
        end = scenario.centre + dt.timedelta(days=end_offset)
        doc["date_from"] = (end - dt.timedelta(days=days - 1)).isoformat()
        doc["date_to"] = end.isoformat()
    if "filters" not in doc and draw(st.booleans()) and (filters := draw(filter_lists(1))):
        doc["filters"] = filters
    if draw(st.integers(0, 2)):
        doc["revenue"] = {"event": draw(event_names(scenario)),
                          "property": draw(st.sampled_from(("price", "price", "price", "plan", "a.b",
                                                            MISSING_PROPERTY)))}
    if draw(st.booleans()):
        first = st.sampled_from((ANY_EVENT, *scenario.names))  # mostly someone enters
        steps = [draw(first), *draw(st.lists(event_names(scenario), min_size=1, max_size=2))]
        if draw(st.booleans()):  # repeated step events: view → view
            steps[1] = steps[0]
        conversion: dict[str, Any] = {"steps": steps}
        if window := draw(st.sampled_from((None, *WINDOWS))):
            conversion["window"] = window
        doc["conversion"] = conversion
    return doc


DOCUMENTS = {
    "trends": trends_documents,
    "funnel": funnel_documents,
    "retention": retention_documents,
    "stickiness": stickiness_documents,
    "lifecycle": lifecycle_documents,
    "paths": paths_documents,
    "overview": overview_documents,
}


DENSE_KINDS = {"overview"}  # kinds that compare adjacent periods: see ``scenarios(dense=…)``


@dataclass
class Case:
    """A scenario and one document to run on it."""

    scenario: Scenario
    document: Document


@st.composite
def cases(draw: st.DrawFn, kind: str, max_events: int = 40) -> Case:
    scenario = draw(scenarios(max_events=max_events, dense=kind in DENSE_KINDS))
    return Case(scenario, draw(DOCUMENTS[kind](scenario)))
