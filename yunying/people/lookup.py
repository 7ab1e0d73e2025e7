"""Looking people and their events up: the queries of the events explorer and the users pages.

* :func:`events_page` — the latest events of a project, with filters, a page at a time;
* :func:`one_event`, :func:`neighbours` — one event, and its person's events around it;
* :func:`event_names` — the event names seen lately (suggestions for a filter);
* :func:`recent_persons`, :func:`search_persons` — persons by recent activity, by distinct_id
  (exact or prefix) or by a profile property;
* :func:`person_detail`, :func:`timeline` — one person: profile, ids, totals per event,
  events per day, and their events a page at a time.

Isolation. Every function takes a store (the workbench passes a read cursor of its pool) and
a project, and reads that project's rows only: events through ``store.events(project)`` (ibis;
property filters are the insight filters, with the semantics of docs/metrics.md "Filters"),
persons and profiles through DuckDB SQL with ``project_id = ?``. Every value a user typed
travels as a bound parameter or an ibis literal, never as SQL text.

Order and ties. Events are listed newest first: ``timestamp`` descending, equal timestamps by
``uuid`` descending (compared as strings). A page ends with an :class:`EventCursor` — the
(timestamp, uuid) of its last event — and the next page holds the events strictly after it in
that order: paging returns every event exactly once, even when many share a timestamp, and
events arriving meanwhile (newer than any cursor) never shift a page.

Speed. No OFFSET and no sort of everything: a page is ``ORDER BY timestamp DESC, uuid DESC
LIMIT n+1`` inside a time window that ends at the cursor (or at the newest matching event),
first about as wide as a few pages of events, then wider, widened only while the window holds
fewer than n+1 matches — the newest n+1 matches of a window that holds that many are the
newest overall, since everything outside it is older. Property filters read each row's JSON;
such a search stops after about SCAN_BUDGET events and says where (``EventPage.partial``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import orjson

from yunying.insights.daterange import DateRange
from yunying.insights.documents import PropertyFilter
from yunying.insights.filters import all_of
from yunying.store import Project, Store
from yunying.store.properties import json_pointer
from yunying.store.schema import MATERIALIZED_PROPERTIES

PAGE_SIZE = 50
WINDOWS: tuple[dt.timedelta, ...] = tuple(dt.timedelta(days=d) for d in (1, 7, 30, 365))  # persons
FEW_IDS = 5  # distinct_ids shown per person in a list
MAX_IDS = 1000  # distinct_ids listed for one person
ACTIVITY_DAYS = 30
MIN_WINDOW = dt.timedelta(hours=1)
WIDEN = 4
SCAN_BUDGET = 100_000  # about how many events' properties one page may read (property filters only)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class EventCursor:
    """Where a page of events ended: its last event's (timestamp, uuid); text ``<iso>,<uuid>``.

    An empty uuid means "everything before ``timestamp``" (a search that stopped there).
    """

    timestamp: dt.datetime  # naive UTC
    uuid: str

    def encode(self) -> str:
        return f"{self.timestamp.isoformat(timespec='microseconds')},{self.uuid}"

    @classmethod
    def decode(cls, text: str) -> EventCursor:
        """The cursor ``text`` spells; ValueError if it is not one."""
        stamp, comma, uuid = text.partition(",")
        if not comma:
            raise ValueError(f"{text!r} is not a page cursor (<timestamp>,<uuid>)")
        return cls(_naive_utc(dt.datetime.fromisoformat(stamp)), uuid)


@dataclass(frozen=True)
class PersonCursor:
    """Where a page of recently active persons ended: (last_seen, person_id); ``<iso>,<id>``."""

    last_seen: dt.datetime  # naive UTC
    person_id: int

    def encode(self) -> str:
        return f"{self.last_seen.isoformat(timespec='microseconds')},{self.person_id}"

    @classmethod
    def decode(cls, text: str) -> PersonCursor:
        stamp, comma, person = text.partition(",")
        if not comma or not person.isdigit():
            raise ValueError(f"{text!r} is not a page cursor (<timestamp>,<person id>)")
        return cls(_naive_utc(dt.datetime.fromisoformat(stamp)), int(person))


@dataclass(frozen=True)
class Event:
    """One stored event. ``timestamp`` and ``inserted_at`` are naive UTC."""

    uuid: str
    event: str
    distinct_id: str
    person_id: int
    timestamp: dt.datetime
    properties: dict[str, Any]
    inserted_at: dt.datetime | None = None
    materialised: dict[str, str | None] = field(default_factory=dict)  # property -> its column's value

    @property
    def cursor(self) -> EventCursor:
        return EventCursor(self.timestamp, self.uuid)


@dataclass(frozen=True)
class EventPage:
    """Events in the order of the query; ``next`` continues after the last one (None: no more)."""

    events: list[Event]
    next: EventCursor | None
    partial: bool = False  # the search stopped at next's time (property filters); older may match


@dataclass(frozen=True)
class EventQuery:
    """Which events: all of these that are given must hold.

    ``event`` is an exact event name; ``distinct_id`` the id the event was sent with;
    ``person_id`` the person it belongs to now (after merges); ``filters`` property filters
    (docs/metrics.md "Filters"); ``date_from``/``date_to`` inclusive local dates in the
    project's time zone (either may be left open).
    """

    event: str | None = None
    distinct_id: str | None = None
    person_id: int | None = None
    filters: tuple[PropertyFilter, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")


@dataclass(frozen=True)
class Neighbours:
    """A person's events around one of theirs, nearest first on each side."""

    older: list[Event]  # newest first
    newer: list[Event]  # oldest first


@dataclass(frozen=True)
class PersonSummary:
    """A person in a list. ``distinct_ids``: the first few, sorted; seen times naive UTC."""

    person_id: int
    is_identified: bool
    distinct_ids: list[str]
    distinct_id_count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    event_count: int
    properties: dict[str, Any]


@dataclass(frozen=True)
class PersonPage:
    """Persons in the order of the query; ``next`` continues the recent list, ``truncated``
    says a search matched more persons than shown."""

    persons: list[PersonSummary]
    next: PersonCursor | None = None
    truncated: bool = False


@dataclass(frozen=True)
class EventTotal:
    event: str
    count: int
    first: dt.datetime
    last: dt.datetime


@dataclass(frozen=True)
class DayCount:
    date: dt.date  # local date in the project's time zone
    count: int


@dataclass(frozen=True)
class PersonDetail:
    """One person: profile, every distinct_id (sorted, at most MAX_IDS), totals, activity.

    ``totals``: per event name, most frequent first (ties by name). ``activity``: events per
    local day over the ACTIVITY_DAYS days ending on the day of the last event (zero-filled;
    empty for a person without events).
    """

    person_id: int
    is_identified: bool
    properties: dict[str, Any]
    distinct_ids: list[str]
    distinct_id_count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    event_count: int
    totals: list[EventTotal]
    activity: list[DayCount]


# ----------------------------------------------------------------------------- events
def events_page(reader: Store, project: Project, query: EventQuery | None = None,
                before: EventCursor | None = None, limit: int = PAGE_SIZE) -> EventPage:
    """The newest ``limit`` events of ``query`` older than ``before`` (timestamp, uuid descending).

    With property filters the page may hold fewer (``partial``): the search stopped at
    ``next.timestamp`` and continues from there.
    """
    return _scan(reader, project, query or EventQuery(), before, limit, newer=False)


def events_after(reader: Store, project: Project, query: EventQuery | None = None,
                 after: EventCursor | None = None, limit: int = PAGE_SIZE) -> EventPage:
    """The oldest ``limit`` events of ``query`` newer than ``after`` (timestamp, uuid ascending)."""
    return _scan(reader, project, query or EventQuery(), after, limit, newer=True)


def one_event(reader: Store, project: Project, uuid: str, at: dt.datetime | None = None) -> Event | None:
    """The event ``uuid`` of ``project``, or None. ``at`` (its timestamp, when known) lets the
    lookup skip most of the table; a wrong ``at`` only costs the full search."""
    table = reader.events(project)
    same = table.uuid == ibis.literal(uuid, "string")
    if at is not None:
        rows = _fetch(table.filter(same & (table.timestamp == ibis.literal(_naive_utc(at), "timestamp")))
                      .limit(1))
        if rows:
            return rows[0]
    rows = _fetch(table.filter(same).order_by(table.timestamp).limit(1))
    return rows[0] if rows else None


def neighbours(reader: Store, project: Project, event: Event, n: int = 5) -> Neighbours:
    """Up to ``n`` events of ``event``'s person just before and just after it (same order and
    ties as the lists: by timestamp, then uuid)."""
    query = EventQuery(person_id=event.person_id)
    older = _scan(reader, project, query, event.cursor, n, newer=False).events
    newer = _scan(reader, project, query, event.cursor, n, newer=True).events
    return Neighbours(older, newer)


def event_names(reader: Store, project: Project, days: int = 30, limit: int = 500) -> list[str]:
    """Names of the events of the last ``days`` days before the project's newest event, most
    frequent first (ties by name)."""
    con = reader.duckdb
    newest = con.execute("SELECT max(timestamp) FROM events WHERE project_id = ?",
                         [project.project_id]).fetchall()[0]
    if newest[0] is None:
        return []
    rows = con.execute(
        "SELECT event FROM events WHERE project_id = ? AND timestamp >= ? "
        "GROUP BY event ORDER BY count(*) DESC, event LIMIT ?",
        [project.project_id, newest[0] - dt.timedelta(days=days), limit]).fetchall()
    return [r[0] for r in rows]


def _narrowed(reader: Store, project: Project, query: EventQuery) -> ir.Table:
    """The project's events with the equality parts of ``query`` (cheap, exact)."""
    table = reader.events(project)
    if query.event is not None:
        table = table.filter(table.event == ibis.literal(query.event, "string"))
    if query.distinct_id is not None:
        table = table.filter(table.distinct_id == ibis.literal(query.distinct_id, "string"))
    if query.person_id is not None:
        table = table.filter(table.person_id == ibis.literal(query.person_id, "int64"))
    return table


@dataclass(frozen=True)
class _Span:
    """The first and last timestamp and the number of events of the equality parts of a query."""

    first: dt.datetime
    last: dt.datetime
    count: int

    def rows_in(self, width: dt.timedelta) -> float:
        """About how many of those events a window ``width`` wide holds (if spread evenly)."""
        duration = max(self.last - self.first, dt.timedelta(seconds=1))
        return self.count * min(1.0, width / duration)

    def width_for(self, rows: float) -> dt.timedelta:
        """About how wide a window holding ``rows`` of them is."""
        duration = max(self.last - self.first, dt.timedelta(seconds=1))
        return duration * (rows / max(self.count, 1))


def _span(reader: Store, project: Project, query: EventQuery) -> _Span | None:
    if reader.kind != "duckdb":
        table = _narrowed(reader, project, query)
        row = table.aggregate(first=table.timestamp.min(), last=table.timestamp.max(),
                              n=table.count()).to_pyarrow().to_pylist()[0]
        values = (row["first"], row["last"], row["n"])
    else:  # the same, without the cost of compiling an expression
        sql, params = "SELECT min(timestamp), max(timestamp), count(*) FROM events WHERE project_id = ?", [
            project.project_id]
        for column, value in (("event", query.event), ("distinct_id", query.distinct_id),
                              ("person_id", query.person_id)):
            if value is not None:
                sql += f" AND {column} = ?"  # column names are these constants; the value is bound
                params.append(value)
        values = reader.duckdb.execute(sql, params).fetchall()[0]
    if values[0] is None:
        return None
    return _Span(values[0], values[1], int(values[2]))


def _scan(reader: Store, project: Project, query: EventQuery, cursor: EventCursor | None,
          limit: int, *, newer: bool) -> EventPage:
    """A page of ``query``'s events after ``cursor``, searched window by window.

    The first window is about as wide as (limit+1) * WIDEN events of the query's equality
    parts (at least MIN_WINDOW); each next one at least WIDEN times wider, and as much wider
    as the last one's matches suggest is needed. With property filters (each row's JSON is
    read) an older-direction search stops before a window would hold more than about
    SCAN_BUDGET events (estimated from the average density): the page then has what was found,
    ``partial`` is set, and ``next`` continues from the window's edge — no event is skipped or
    shown twice.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    span = _span(reader, project, query)
    if span is None:
        return EventPage([], None)
    first, last = span.first, span.last
    table = _narrowed(reader, project, query)
    ts, uid = table.timestamp, table.uuid
    condition = all_of(table, query.filters, reader.kind)
    if query.date_from is not None or query.date_to is not None:
        zone = ZoneInfo(project.timezone)
        period = DateRange(query.date_from or _local_date(first, zone),
                           query.date_to or _local_date(last, zone), project.timezone)
        if period.date_from > period.date_to:
            return EventPage([], None)
        condition = condition & period.in_range(ts)
        low, high = period.utc_bounds()
        first, last = max(first, low), min(last, high)
        if first > last:
            return EventPage([], None)
    if cursor is not None:
        at, key = ibis.literal(cursor.timestamp, "timestamp"), ibis.literal(cursor.uuid, "string")
        if newer:
            condition = condition & ((ts > at) | ((ts == at) & (uid > key)))
        else:
            condition = condition & ((ts < at) | ((ts == at) & (uid < key)))
    order = [ibis.asc(ts), ibis.asc(uid)] if newer else [ibis.desc(ts), ibis.desc(uid)]
    anchor = cursor.timestamp if cursor is not None else (first if newer else last)
    anchor = max(anchor, first) if newer else min(anchor, last)
    budget = SCAN_BUDGET if query.filters and not newer else None

    width = max(MIN_WINDOW, span.width_for((limit + 1) * WIDEN))
    while True:
        edge: dt.datetime | None = anchor + width if newer else anchor - width
        if (newer and edge >= last) or (not newer and edge <= first):
            edge = None  # the window would hold everything: ask without one
        window = condition
        if edge is not None:
            bound = ibis.literal(edge, "timestamp")
            window = condition & (ts <= bound if newer else ts >= bound)
        rows = _fetch(table.filter(window).order_by(order).limit(limit + 1))
        if len(rows) > limit or edge is None:
            break
        wider = width * max(WIDEN, 2 * (limit + 1) / max(len(rows), 1))
        if budget is not None and span.rows_in(wider) > budget:
            wider = span.width_for(budget)
            if wider < 2 * width:  # hardly wider than this one: stop here
                return EventPage(rows, EventCursor(edge, ""), partial=True)
        width = wider
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].cursor if more else None)


def _fetch(expr: ir.Table) -> list[Event]:
    return [_event(row) for row in expr.to_pyarrow().to_pylist()]


def _event(row: dict[str, Any]) -> Event:
    return Event(
        uuid=row["uuid"], event=row["event"], distinct_id=row["distinct_id"], person_id=row["person_id"],
        timestamp=row["timestamp"], properties=_json_object(row["properties"]),
        inserted_at=row["inserted_at"],
        materialised={prop: row[column] for prop, column in MATERIALIZED_PROPERTIES.items()},
    )


# ----------------------------------------------------------------------------- persons
def recent_persons(reader: Store, project: Project, before: PersonCursor | None = None,
                   limit: int = PAGE_SIZE) -> PersonPage:
    """Persons by their last event, most recent first (ties by person_id descending), after
    ``before``. Persons without events are not listed. Windowed like the event pages: the
    last-seen time of every person active in a window is exact, so the window's newest are the
    newest overall once it holds ``limit + 1`` of them."""
    con = reader.duckdb
    pid = project.project_id
    span = con.execute("SELECT min(timestamp), max(timestamp) FROM events WHERE project_id = ?",
                       [pid]).fetchall()[0]
    if span[0] is None:
        return PersonPage([])
    first, last = span
    anchor = min(before.last_seen, last) if before else last
    having, having_params = "", []
    if before is not None:
        having = "HAVING max(timestamp) < ? OR (max(timestamp) = ? AND person_id < ?) "
        having_params = [before.last_seen, before.last_seen, before.person_id]

    def fetch(edge: dt.datetime | None) -> list[tuple[int, dt.datetime]]:
        window, params = ("AND timestamp >= ? ", [edge]) if edge is not None else ("", [])
        return con.execute(
            "SELECT person_id, max(timestamp) AS last_seen FROM events WHERE project_id = ? " + window
            + "GROUP BY person_id " + having + "ORDER BY last_seen DESC, person_id DESC LIMIT ?",
            [pid, *params, *having_params, limit + 1]).fetchall()

    rows: list[tuple[int, dt.datetime]] | None = None
    for width in WINDOWS:
        if anchor - width <= first:
            break
        rows = fetch(anchor - width)
        if len(rows) > limit:
            break
        rows = None
    if rows is None:
        rows = fetch(None)
    more = len(rows) > limit
    rows = rows[:limit]
    persons = summaries(reader, project, [p for p, _ in rows])
    return PersonPage(persons, PersonCursor(rows[-1][1], rows[-1][0]) if more else None)


def search_persons(reader: Store, project: Project, distinct_id: str | None = None,
                   property_key: str | None = None, property_value: str | None = None,
                   limit: int = PAGE_SIZE) -> PersonPage:
    """Persons with a distinct_id starting with ``distinct_id`` and/or whose profile property
    ``property_key`` has the string form ``property_value`` (docs/metrics.md "Property
    values"; equal as ``eq`` is). Order: a person with a distinct_id equal to ``distinct_id``
    first, then by their smallest matching distinct_id, then by person_id (property search
    alone: by person_id). At most ``limit``; ``truncated`` when more matched."""
    if not distinct_id and not property_key:
        raise ValueError("search by a distinct_id or a property")
    if property_key and property_value is None:
        raise ValueError("a property search needs a value")
    con = reader.duckdb
    pid = project.project_id
    profile_sql = ("SELECT person_id FROM person_profiles WHERE project_id = ? "
                   "AND json_extract_string(properties, ?) = ?")
    profile_params: list[Any] = [pid, json_pointer(property_key), property_value] if property_key else []
    if distinct_id:
        sql = ("SELECT person_id FROM persons WHERE project_id = ? AND starts_with(distinct_id, ?) "
               + ("AND person_id IN (" + profile_sql + ") " if property_key else "")
               + "GROUP BY person_id ORDER BY bool_or(distinct_id = ?) DESC, min(distinct_id), person_id "
               "LIMIT ?")
        params = [pid, distinct_id, *profile_params, distinct_id, limit + 1]
    else:
        sql = ("SELECT DISTINCT person_id FROM (" + profile_sql + ") AS p "
               "WHERE person_id IN (SELECT person_id FROM persons WHERE project_id = ?) "
               "ORDER BY person_id LIMIT ?")
        params = [*profile_params, pid, limit + 1]
    found = [r[0] for r in con.execute(sql, params).fetchall()]
    return PersonPage(summaries(reader, project, found[:limit]), truncated=len(found) > limit)


def summaries(reader: Store, project: Project, person_ids: Sequence[int]) -> list[PersonSummary]:
    """:class:`PersonSummary` of each of ``person_ids`` of ``project`` that exists, in that order."""
    if not person_ids:
        return []
    con = reader.duckdb
    pid, wanted = project.project_id, list(person_ids)
    ids = {p: (list(names), n) for p, names, n in con.execute(
        "SELECT person_id, list(distinct_id ORDER BY distinct_id)[1:?], count(*) FROM persons "
        "WHERE project_id = ? AND person_id IN (SELECT unnest(?)) GROUP BY person_id",
        [FEW_IDS, pid, wanted]).fetchall()}
    seen = {p: (lo, hi, n) for p, lo, hi, n in con.execute(
        "SELECT person_id, min(timestamp), max(timestamp), count(*) FROM events "
        "WHERE project_id = ? AND person_id IN (SELECT unnest(?)) GROUP BY person_id",
        [pid, wanted]).fetchall()}
    profiles = _profiles(reader, project, wanted)
    out = []
    for person in wanted:
        if person not in ids:
            continue
        identified, props = profiles.get(person, (False, {}))
        lo, hi, n = seen.get(person, (None, None, 0))
        out.append(PersonSummary(person, identified, ids[person][0], ids[person][1], lo, hi, n, props))
    return out


def person_detail(reader: Store, project: Project, person_id: int) -> PersonDetail | None:
    """The person ``person_id`` of ``project``; None when ``project`` has no such person (a
    person of another project, or one merged into another)."""
    con = reader.duckdb
    pid = project.project_id
    ids = [r[0] for r in con.execute(
        "SELECT distinct_id FROM persons WHERE project_id = ? AND person_id = ? ORDER BY distinct_id LIMIT ?",
        [pid, person_id, MAX_IDS]).fetchall()]
    if not ids:
        return None
    count = len(ids) if len(ids) < MAX_IDS else con.execute(
        "SELECT count(*) FROM persons WHERE project_id = ? AND person_id = ?",
        [pid, person_id]).fetchall()[0][0]
    totals = [EventTotal(e, n, lo, hi) for e, n, lo, hi in con.execute(
        "SELECT event, count(*) AS n, min(timestamp), max(timestamp) FROM events "
        "WHERE project_id = ? AND person_id = ? GROUP BY event ORDER BY n DESC, event",
        [pid, person_id]).fetchall()]
    identified, props = _profiles(reader, project, [person_id]).get(person_id, (False, {}))
    first = min((t.first for t in totals), default=None)
    last = max((t.last for t in totals), default=None)
    activity = _activity(reader, project, person_id, last) if last is not None else []
    return PersonDetail(person_id, identified, props, ids, count, first, last,
                        sum(t.count for t in totals), totals, activity)


def timeline(reader: Store, project: Project, person_id: int, before: EventCursor | None = None,
             limit: int = PAGE_SIZE) -> EventPage:
    """The person's events, newest first (ties by uuid), after ``before``."""
    return events_page(reader, project, EventQuery(person_id=person_id), before, limit)


def _activity(reader: Store, project: Project, person_id: int, last: dt.datetime) -> list[DayCount]:
    end = _local_date(last, ZoneInfo(project.timezone))
    period = DateRange(end - dt.timedelta(days=ACTIVITY_DAYS - 1), end, project.timezone)
    table = reader.events(project)
    mine = table.person_id == ibis.literal(person_id, "int64")
    table = table.filter(mine & period.in_range(table.timestamp))
    counts = (table.mutate(day=period.bucket_index(table.timestamp, "day"))
              .group_by("day").aggregate(n=ibis._.count()).to_pyarrow().to_pylist())
    by_day = {row["day"]: row["n"] for row in counts}
    return [DayCount(period.date_from + dt.timedelta(days=i), int(by_day.get(index, 0)))
            for i, index in enumerate(period.bucket_indexes("day"))]


Profile = tuple[bool, dict[str, Any]]  # (is_identified, properties)


def _profiles(reader: Store, project: Project, person_ids: list[int]) -> dict[int, Profile]:
    rows = reader.duckdb.execute(
        "SELECT person_id, is_identified, properties FROM person_profiles "
        "WHERE project_id = ? AND person_id IN (SELECT unnest(?)) ORDER BY updated_at",
        [project.project_id, person_ids]).fetchall()
    return {p: (bool(identified), _json_object(props)) for p, identified, props in rows}


# ----------------------------------------------------------------------------- helpers
def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"$unparsed": text}
    return value if isinstance(value, dict) else {"$value": value}


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _local_date(utc: dt.datetime, zone: ZoneInfo) -> dt.date:
    return utc.replace(tzinfo=dt.UTC).astimezone(zone).date()
