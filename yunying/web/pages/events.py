"""The events explorer (事件): the latest events with filters, a page at a time, and one event.

    GET /p/<project>/events?event=&distinct_id=&person=&date_from=&date_to=
                           &prop=<key>&op=<operator>&value=<v> (repeated)&before=<cursor>
    GET /p/<project>/events/<uuid>?at=<timestamp>      (``at`` only speeds the lookup up)

Times are shown in the project's time zone; the JSON twins give ``timestamp`` in UTC (``Z``)
and ``time`` with the zone's offset. The queries are yunying.people.lookup's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from typing import Any, get_args
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import orjson
import pydantic

from yunying.insights.documents import FilterOperator, PropertyFilter
from yunying.people.lookup import (
    Event,
    EventCursor,
    EventQuery,
    event_names,
    events_page,
    neighbours,
    one_event,
)
from yunying.store.schema import MATERIALIZED_PROPERTIES
from yunying.web.errors import ApiError
from yunying.web.pages.framework import PageContext, page

OPERATORS: tuple[str, ...] = get_args(FilterOperator)
NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte")
VALUELESS_OPERATORS = ("is_set", "is_not_set")
# Shown first in a list of events when present (then the event's other properties, in order).
KEY_PROPERTIES = ("$current_url", "$screen_name", "$pathname", "$os", "$browser", "$city", "channel",
                  "utm_source", "$device_type")
SHOWN_PROPERTIES = 4
SHOWN_TEXT = 80  # characters of a property value shown in a list
NAMES_TTL_SECONDS = 60.0
MAX_FILTERS = 20

_names_cache: dict[int, tuple[float, list[str]]] = {}
_names_lock = threading.Lock()


# ----------------------------------------------------------------------------- shared with users.py
def local_time(pc: PageContext, utc: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) time on the project's wall clock, with its offset."""
    if utc is None:
        return None
    assert pc.project is not None
    return utc.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(pc.project.timezone))


def utc_text(utc: dt.datetime | None) -> str | None:
    return None if utc is None else utc.isoformat(timespec="microseconds") + "Z"


def value_text(value: Any, limit: int | None = None) -> str:
    """A property value as text: a string as it is, anything else as JSON; cut to ``limit``."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def pick_properties(properties: dict[str, Any], first: tuple[str, ...], n: int) -> list[list[str]]:
    """Up to ``n`` [key, value text] pairs: the keys of ``first`` present, then the others
    (keys not starting with ``$`` before those that do), each group in the event's order."""
    keys = [k for k in first if k in properties]
    keys += [k for k in properties if k not in keys and not k.startswith("$")]
    keys += [k for k in properties if k not in keys]
    return [[k, value_text(properties[k], SHOWN_TEXT)] for k in keys[:n]]


def event_url(pc: PageContext, event: Event) -> str:
    return pc.url("/events/" + quote(event.uuid, safe=""), at=utc_text(event.timestamp))


def person_url(pc: PageContext, person_id: int) -> str:
    return pc.url(f"/users/{person_id}")


def event_row(pc: PageContext, event: Event) -> dict[str, Any]:
    """One event as a list shows it (and its JSON twin gives it)."""
    return {
        "uuid": event.uuid, "event": event.event, "distinct_id": event.distinct_id,
        "person_id": event.person_id, "timestamp": utc_text(event.timestamp),
        "time": local_time(pc, event.timestamp),
        "properties": pick_properties(event.properties, KEY_PROPERTIES, SHOWN_PROPERTIES),
        "url": event_url(pc, event), "person_url": person_url(pc, event.person_id),
    }


def link(pc: PageContext, path: str, pairs: list[tuple[str, str]]) -> str:
    """A URL inside the project with the query ``pairs`` (a key may repeat)."""
    kept = [(k, v) for k, v in pairs if v not in (None, "")]
    return pc.url(path) + ("?" + urlencode(kept) if kept else "")


def cursor_param(pc: PageContext, name: str = "before") -> EventCursor | None:
    text = pc.params.get(name)
    if not text:
        return None
    try:
        return EventCursor.decode(text)
    except ValueError:
        raise ApiError(400, "bad_cursor", pc.t("explore.bad_cursor"), name) from None


# ----------------------------------------------------------------------------- the list
def _date_param(pc: PageContext, name: str) -> dt.date | None:
    text = (pc.params.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "bad_date", pc.t("explore.bad_date", value=text), name) from None


def _property_filters(pc: PageContext) -> tuple[list[PropertyFilter], list[dict[str, str]]]:
    """The ``prop``/``op``/``value`` triples of the request as filters, and as typed (for the form)."""
    params = pc.params
    typed: list[dict[str, str]] = []
    filters: list[PropertyFilter] = []
    rows = itertools.zip_longest(params.getlist("prop"), params.getlist("op"), params.getlist("value"),
                                 fillvalue="")
    for key, operator, text in rows:
        key = key.strip()
        if not key:
            continue
        operator = operator or "eq"
        if operator not in OPERATORS:
            raise ApiError(400, "bad_filter", pc.t("explore.bad_operator", operator=operator), "op")
        value: Any = None
        if operator in NUMERIC_OPERATORS:
            try:
                value = float(text)
            except ValueError:
                raise ApiError(400, "bad_filter", pc.t("explore.bad_number", property=key, value=text),
                               "value") from None
            if value.is_integer():
                value = int(value)
        elif operator not in VALUELESS_OPERATORS:
            value = text
        try:
            filters.append(PropertyFilter(property=key, operator=operator, value=value))
        except pydantic.ValidationError:
            raise ApiError(400, "bad_filter", pc.t("explore.bad_filter", property=key), "prop") from None
        typed.append({"property": key, "operator": operator, "value": text})
    if len(filters) > MAX_FILTERS:
        raise ApiError(400, "bad_filter", pc.t("explore.too_many_filters", n=MAX_FILTERS), "prop")
    return filters, typed


def event_query(pc: PageContext) -> tuple[EventQuery, dict[str, Any]]:
    """The explorer's query from the request, and the filters as the form shows them."""
    params = pc.params
    event = (params.get("event") or "").strip() or None
    distinct_id = (params.get("distinct_id") or "").strip() or None
    person_text = (params.get("person") or "").strip()
    if person_text and not person_text.isdigit():
        raise ApiError(400, "bad_person", pc.t("explore.bad_person", value=person_text), "person")
    person = int(person_text) if person_text else None
    filters, typed = _property_filters(pc)
    date_from, date_to = _date_param(pc, "date_from"), _date_param(pc, "date_to")
    if date_from and date_to and date_from > date_to:
        raise ApiError(400, "bad_date", pc.t("explore.dates_reversed"), "date_from")
    query = EventQuery(event=event, distinct_id=distinct_id, person_id=person, filters=tuple(filters),
                       date_from=date_from, date_to=date_to)
    shown = {
        "event": event, "distinct_id": distinct_id, "person": person,
        "properties": [f.model_dump(mode="json") for f in filters], "typed": typed,
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    return query, shown


def _query_pairs(shown: dict[str, Any], drop: str | None = None) -> list[tuple[str, str]]:
    """The filters as URL query pairs (``drop``: leave one filter out)."""
    pairs = [(k, str(shown[k])) for k in ("event", "distinct_id", "person", "date_from", "date_to")
             if shown[k] is not None and k != drop]
    for row in shown["typed"]:
        pairs += [("prop", row["property"]), ("op", row["operator"]), ("value", row["value"])]
    return pairs


def _names(pc: PageContext) -> list[str]:
    """Event names seen lately (for the datalist), kept a minute per project."""
    assert pc.project is not None
    key = pc.project.project_id
    now = time.monotonic()
    with _names_lock:
        hit = _names_cache.get(key)
    if hit is not None and now - hit[0] < NAMES_TTL_SECONDS:
        return hit[1]
    project = pc.project
    names = pc.state.reads.call(lambda reader: event_names(reader, project))
    with _names_lock:
        _names_cache[key] = (now, names)
    return names


@page("/p/{project}/events", "events.html")
def events(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    query, shown = event_query(pc)
    before = cursor_param(pc)
    project = pc.project
    found = pc.state.reads.call(lambda reader: events_page(reader, project, query, before))
    pairs = _query_pairs(shown)
    return {
        "filters": shown,
        "events": [event_row(pc, e) for e in found.events],
        "next": found.next.encode() if found.next else None,
        "next_url": link(pc, "/events", [*pairs, ("before", found.next.encode())]) if found.next else None,
        "newest_url": link(pc, "/events", pairs) if before else None,
        "partial": found.partial,
        "searched_to": local_time(pc, found.next.timestamp) if found.partial and found.next else None,
        "without_person_url": link(pc, "/events", _query_pairs(shown, drop="person")),
        "event_names": _names(pc),
        "operators": list(OPERATORS),
        "timezone": project.timezone,
    }


# ----------------------------------------------------------------------------- one event
def _at_param(pc: PageContext) -> dt.datetime | None:
    """The ``at`` hint (the event's UTC time); a hint that does not parse is ignored."""
    text = (pc.params.get("at") or "").strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


@page("/p/{project}/events/{uuid}", "event.html")
def event_detail(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    project, uuid, at = pc.project, pc.request.path_params["uuid"], _at_param(pc)

    def work(reader: Any) -> tuple[Event | None, Any]:
        found = one_event(reader, project, uuid, at)
        return (found, neighbours(reader, project, found)) if found else (None, None)

    event, around = pc.state.reads.call(work)
    if event is None:
        raise ApiError(404, "not_found", pc.t("explore.event.not_found"))
    columns = [["uuid", event.uuid], ["event", event.event], ["distinct_id", event.distinct_id],
               ["person_id", event.person_id], ["timestamp", utc_text(event.timestamp)],
               ["inserted_at", utc_text(event.inserted_at)],
               *([MATERIALIZED_PROPERTIES[key], value] for key, value in event.materialised.items())]
    return {
        "event": {
            "uuid": event.uuid, "event": event.event, "distinct_id": event.distinct_id,
            "person_id": event.person_id, "timestamp": utc_text(event.timestamp),
            "time": local_time(pc, event.timestamp), "inserted_at": utc_text(event.inserted_at),
            "properties": event.properties, "materialised": event.materialised,
        },
        "columns": columns,
        "properties_json": orjson.dumps(event.properties, option=orjson.OPT_INDENT_2).decode(),
        "person_url": person_url(pc, event.person_id),
        "person_events_url": link(pc, "/events", [("person", str(event.person_id))]),
        "older": [event_row(pc, e) for e in around.older],
        "newer": [event_row(pc, e) for e in reversed(around.newer)],
        "timezone": project.timezone,
    }
