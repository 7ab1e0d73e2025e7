"""What a project has actually received, for autocomplete: event names, property keys, values.

    event_names(store, project)                  # [("$pageview", 461588), ("app_open", ...), ...]
    property_keys(store, project, event="pay")   # ["$browser", "amount", ...]
    property_values(store, project, "channel")   # [("微信", 11641), ("抖音", 9680), ...]

Event names are counted over all of the project's events (one group-by on the event column).

Property keys and values come from a bounded *sample* of recent events, so they cost about
the same at 10M events as at 100k: at most ``SAMPLE_EVENTS`` (50,000) events (of one event
name, when ``event`` is given) taken from the shortest window ending at the project's last
event that holds that many. Windows double from one hour until they hold enough events, or
``SCAN_FACTOR`` times as many events of any name (so sampling a rare event reads no more than
a frequent one), or the whole history. Each try is a count that DuckDB answers from the
timestamp's per-row-group min/max; no query sorts the events table. A key or value seen only
in older events is therefore not offered (the builder still accepts it typed in).

Reads are the project's rows only: ``store.events(project)`` (ibis) for the event names, and
DuckDB SQL with ``project_id = ?`` for the sample (listing a JSON object's keys has no ibis
form); every value, the event name and the property's JSON pointer included, is a bound
parameter, never SQL text.

Answers are cached in-process for ``TTL_SECONDS`` (60 s) per store, project and arguments:
a page shown again does not query again, and new names appear within a minute.
:func:`clear_cache` empties the cache (tests; after deleting a project's data).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import ibis

from yunying.store import Project, Store
from yunying.store.properties import json_pointer
from yunying.store.schema import MATERIALIZED_PROPERTIES

SAMPLE_EVENTS = 50_000
TTL_SECONDS = 60.0
CACHE_ENTRIES = 1024
# A window is not grown past this many events (of any name) while sampling one event.
SCAN_FACTOR = 10

T = TypeVar("T")
_cache: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(key)
            return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _cache[key] = (now + TTL_SECONDS, value)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return value


def _key(store: Store, project: Project, *parts: Any) -> tuple[Any, ...]:
    # The location tells stores apart (project ids restart at 1 in every store file); an
    # in-memory store has no location of its own, so its identity stands in for it.
    where = store.location if store.location != ":memory:" else f":memory:{id(store.backend)}"
    return (where, project.project_id, *parts)


def event_names(store: Store, project: Project) -> list[tuple[str, int]]:
    """Every event name the project has received with its count, most frequent first."""
    def compute() -> list[tuple[str, int]]:
        table = store.events(project)
        counts = table.group_by("event").agg(n=table.count())
        rows = counts.order_by([ibis.desc("n"), "event"]).to_pyarrow().to_pylist()
        return [(r["event"], int(r["n"])) for r in rows]
    return _cached(_key(store, project, "events"), compute)


def recent_cutoff(store: Store, project: Project, event: str | None = None,
                  sample: int = SAMPLE_EVENTS) -> dt.datetime | None:
    """The start of the shortest recent window that holds ``sample`` events (of ``event``).

    Windows end at the project's last event and double from one hour; the search also
    stops at a window of ``SCAN_FACTOR * sample`` events of any name, so a rare event costs
    no more to sample than a frequent one. None: the whole history (no window short of it
    is enough). Each try is one count that DuckDB answers from the timestamp column's
    per-row-group min/max when events arrive roughly in time order.
    """
    con = store.duckdb
    first, last = con.execute("SELECT min(timestamp), max(timestamp) FROM events WHERE project_id = ?",
                              [project.project_id]).fetchall()[0]
    if last is None:
        return None
    span = dt.timedelta(hours=1)
    while last - span > first:
        start = last - span
        total, hits = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE ? IS NULL OR event = ?) FROM events "
            "WHERE project_id = ? AND timestamp >= ?",
            [event, event, project.project_id, start]).fetchall()[0]
        if hits >= sample or total >= sample * SCAN_FACTOR:
            return start  # type: ignore[no-any-return]
        span *= 2
    return None


def _sample_sql(project: Project, event: str | None, cutoff: dt.datetime | None,
                sample: int, column: str) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of at most ``sample`` rows of ``column`` from the recent window."""
    where, params = ["project_id = ?"], [project.project_id]
    if cutoff is not None:
        where.append("timestamp >= ?")
        params.append(cutoff)
    if event:
        where.append("event = ?")
        params.append(event)
    return f"SELECT {column} FROM events WHERE {' AND '.join(where)} LIMIT ?", [*params, sample]


def property_keys(store: Store, project: Project, event: str | None = None,
                  sample: int = SAMPLE_EVENTS) -> list[str]:
    """Keys of the event properties in a sample of the project's recent events (of ``event``).

    Most frequent first, ties by name.
    """
    def compute() -> list[str]:
        cutoff = recent_cutoff(store, project, event, sample)
        inner, params = _sample_sql(project, event, cutoff, sample, "properties")
        sql = (f"SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(properties)) AS k FROM ({inner})) "
               "GROUP BY k ORDER BY n DESC, k")
        return [r[0] for r in store.duckdb.execute(sql, params).fetchall()]
    return _cached(_key(store, project, "keys", event, sample), compute)


def property_values(store: Store, project: Project, key: str, event: str | None = None,
                    limit: int = 50, sample: int = SAMPLE_EVENTS) -> list[tuple[str, int]]:
    """The most common string forms of property ``key`` in the sample, with their counts.

    At most ``limit`` values, most frequent first (ties by value); events without the key
    are left out. Values are the string form filters and breakdowns compare with
    (docs/metrics.md, 'Property values'): the materialised column when the store has one,
    else DuckDB's JSON lookup with the key's RFC 6901 pointer as a bound parameter.
    """
    def compute() -> list[tuple[str, int]]:
        cutoff = recent_cutoff(store, project, event, sample)
        column = MATERIALIZED_PROPERTIES.get(key)  # a column name of the schema, never user text
        value, value_params = (f'"{column}"', []) if column else ("json_extract_string(properties, ?)",
                                                                  [json_pointer(key)])
        inner, params = _sample_sql(project, event, cutoff, sample, f"{value} AS v")
        sql = (f"SELECT v, count(*) AS n FROM ({inner}) WHERE v IS NOT NULL "
               "GROUP BY v ORDER BY n DESC, v LIMIT ?")
        rows = store.duckdb.execute(sql, [*value_params, *params, limit]).fetchall()
        return [(r[0], int(r[1])) for r in rows]
    return _cached(_key(store, project, "values", key, event, limit, sample), compute)
