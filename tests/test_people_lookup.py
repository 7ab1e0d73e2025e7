"""yunying.people.lookup: pages of events and persons, filters, isolation between projects.

Random logs (tests/strategies.py: many equal timestamps, DST days, odd property values) are
paged through with small pages and tiny search windows; the pages together must be the
brute-force answer (tests/oracle.py's filters and local dates), each event exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import oracle
import pyarrow as pa
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from yunying.ingest import identity
from yunying.ingest.batch import IdentityLink, PersonOp
from yunying.ingest.person_index import PersonIndex
from yunying.ingest.writer import transaction, write_events
from yunying.insights.documents import PropertyFilter
from yunying.people import lookup
from yunying.people.lookup import EventCursor, EventQuery, PersonCursor
from yunying.store import Project, Store
from yunying.store.connection import connect
from yunying.store.schema import CANONICAL_EVENT

UTC = dt.UTC


# ----------------------------------------------------------------------------- building stores
def write(store: Store, project: Project, events: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist([
        {"uuid": e["uuid"], "event": e["event"], "distinct_id": e["distinct_id"], "timestamp": e["timestamp"],
         "properties": json.dumps(e["properties"], ensure_ascii=False)} for e in events],
        schema=CANONICAL_EVENT)
    assert write_events(store, project, table).inserted == len(events)


def link_and_set(store: Store, project: Project, links: list[tuple[str, str]],
                 sets: list[tuple[str, dict[str, Any]]]) -> None:
    """Identity links (anonymous id, user id) and ``set`` operations, as the server applies them."""
    index = PersonIndex()
    with transaction(store) as con:
        identity.apply_links(con, project.project_id,
                             [IdentityLink(a, u, "identify", i) for i, (a, u) in enumerate(links)], index)
        identity.apply_person_ops(con, project.project_id,
                                  [PersonOp(d, "set", props, i) for i, (d, props) in enumerate(sets)], index)


def at(day: int, hour: int = 12, minute: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2024, 5, day, hour, minute, 0, micro)


def ev(n: int, who: str, ts: dt.datetime, name: str = "view", **props: Any) -> dict[str, Any]:
    return {"uuid": f"{n:08d}-0000-4000-8000-000000000000", "event": name, "distinct_id": who,
            "timestamp": ts, "properties": props}


A_EVENTS = [
    ev(1, "anon-1", at(1, 9), "$pageview", **{"$current_url": "https://shop.example/?q=<script>"}),
    ev(2, "anon-1", at(1, 9, 5), "signup", plan="pro"),
    ev(3, "alice", at(2, 10), "pay", price=30, channel="微信"),
    ev(4, "alice", at(2, 10), "view", channel="抖音"),  # a tie with 3
    ev(5, "bob", at(2, 10), "view"),  # and another
    ev(6, "bob", at(3, 23, 59), "pay", price="12.5"),
    ev(7, "bobby", at(4, 0, 1), "view", price=" 7"),
    ev(8, "carol", at(20, 8), "view", plan="free"),
]
B_EVENTS = [
    ev(101, "alice", at(2, 11), "view"),  # same distinct_id as in A: another person there
    ev(102, "zed", at(21, 9), "pay", price=99),
]


@pytest.fixture(scope="module")
def two_projects() -> Iterator[tuple[Store, Project, Project]]:
    store = connect(":memory:")
    a = store.create_project("shop", "Asia/Shanghai")
    b = store.create_project("other", "America/New_York")
    write(store, a, A_EVENTS)
    write(store, b, B_EVENTS)
    link_and_set(store, a, [("anon-1", "alice")],
                 [("alice", {"email": "alice@example.com", "city": "上海", "age": 30}),
                  ("bob", {"email": "bob@example.com", "city": "北京"})])
    link_and_set(store, b, [], [("zed", {"email": "zed@example.com", "city": "上海"})])
    yield store, a, b
    store.close()


def person_of(store: Store, project: Project, distinct_id: str) -> int:
    return store.duckdb.execute("SELECT person_id FROM persons WHERE project_id = ? AND distinct_id = ?",
                                [project.project_id, distinct_id]).fetchall()[0][0]


def order_key(e: dict[str, Any]) -> tuple[dt.datetime, str]:
    return e["timestamp"], e["uuid"]


# ----------------------------------------------------------------------------- paging (property)
def page_all(store: Store, project: Project, query: EventQuery, limit: int, newer: bool = False) -> list[str]:
    """Every page of ``query``, concatenated (uuids); fails on a repeated cursor."""
    seen: list[str] = []
    cursor: EventCursor | None = None
    cursors = set()
    for _ in range(10_000):
        fetch = lookup.events_after if newer else lookup.events_page
        page = fetch(store, project, query, cursor, limit)
        assert len(page.events) <= limit
        assert page.partial or not page.next or len(page.events) == limit
        seen += [e.uuid for e in page.events]
        if page.next is None:
            return seen
        assert page.next not in cursors, "a cursor came back: paging would loop"
        cursors.add(page.next)
        cursor = EventCursor.decode(page.next.encode())  # through its text, as the pages pass it
    raise AssertionError("paging did not end")


@st.composite
def queries(draw: st.DrawFn, scenario: strategies.Scenario) -> tuple[EventQuery, list[dict[str, Any]]]:
    """A query over ``scenario`` (event, distinct_id, filters, an open or closed date range)."""
    filters = draw(strategies.filter_lists(2)) if draw(st.integers(0, 2)) == 0 else []
    event = draw(st.none() | st.sampled_from([*scenario.names, strategies.MISSING_EVENT]))
    who = draw(st.sampled_from(strategies.USERS)) if draw(st.integers(0, 3)) == 0 else None
    date_from = date_to = None
    if draw(st.integers(0, 2)) == 0:
        centre = scenario.centre
        days = st.integers(-4, 4).map(lambda d: centre + dt.timedelta(days=d))
        date_from, date_to = draw(st.none() | days), draw(st.none() | days)
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
    query = EventQuery(event=event, distinct_id=who, filters=tuple(PropertyFilter(**f) for f in filters),
                       date_from=date_from, date_to=date_to)
    return query, filters


def brute_force(events: list[dict[str, Any]], query: EventQuery, timezone: str) -> list[dict[str, Any]]:
    out = []
    for e in events:
        local = oracle.local_date(e["timestamp"], timezone)
        if ((query.event is None or e["event"] == query.event)
                and (query.distinct_id is None or e["distinct_id"] == query.distinct_id)
                and oracle.filters_hold(e, query.filters)
                and (query.date_from is None or local >= query.date_from)
                and (query.date_to is None or local <= query.date_to)):
            out.append(e)
    return out


@settings(max_examples=strategies.examples(60))
@given(data=st.data(), scenario=strategies.scenarios(max_events=40))
def test_pages_hold_every_matching_event_once_in_order(load_log, data: st.DataObject,
                                                       scenario: strategies.Scenario) -> None:
    log = load_log(scenario.events, scenario.timezone)
    query, _ = data.draw(queries(scenario), label="query")
    limit = data.draw(st.integers(1, 6), label="limit")
    # Tiny windows and budgets, so the widening and the partial pages are exercised too.
    windows = [dt.timedelta(seconds=1), dt.timedelta(hours=1), lookup.MIN_WINDOW]
    min_window = data.draw(st.sampled_from(windows), label="min_window")
    budget = data.draw(st.sampled_from([1, 5, lookup.SCAN_BUDGET]), label="budget")
    expected = brute_force(scenario.events, query, scenario.timezone)
    with mock.patch.multiple(lookup, MIN_WINDOW=min_window, SCAN_BUDGET=budget):
        older = page_all(log.store, log.project, query, limit)
        newer = page_all(log.store, log.project, query, limit, newer=True)
    assert older == [e["uuid"] for e in sorted(expected, key=order_key, reverse=True)]
    assert newer == [e["uuid"] for e in sorted(expected, key=order_key)]


def test_a_rare_property_is_searched_a_budget_at_a_time_and_nothing_is_lost() -> None:
    store = connect(":memory:")
    try:
        project = store.create_project("hours")
        start = dt.datetime(2024, 1, 1)
        events = [ev(i, f"u{i % 7}", start + dt.timedelta(hours=i), rare=i % 25 == 0) for i in range(500)]
        write(store, project, events)
        query = EventQuery(filters=(PropertyFilter(property="rare", operator="eq", value=True),))
        with mock.patch.multiple(lookup, SCAN_BUDGET=48):  # about two days of events per page
            page = lookup.events_page(store, project, query, limit=10)
            assert page.partial and 1 <= len(page.events) < 10 and page.next.uuid == ""
            assert page.next.timestamp >= start + dt.timedelta(hours=499 - 100)
            seen = page_all(store, project, query, limit=10)
        assert seen == [e["uuid"] for e in reversed(events) if e["properties"]["rare"]]
        assert len(page_all(store, project, EventQuery(), limit=10)) == 500  # no filter: no budget
    finally:
        store.close()


# ----------------------------------------------------------------------------- events
def test_latest_events_are_newest_first_with_ties_by_uuid(two_projects) -> None:
    store, a, _ = two_projects
    page = lookup.events_page(store, a, limit=5)
    assert [e.uuid[:8] for e in page.events] == ["00000008", "00000007", "00000006", "00000005", "00000004"]
    assert page.next == EventCursor(at(2, 10), A_EVENTS[3]["uuid"])
    rest = lookup.events_page(store, a, before=page.next, limit=5)
    assert [e.uuid[:8] for e in rest.events] == ["00000003", "00000002", "00000001"] and rest.next is None
    assert rest.events[-1].properties == {"$current_url": "https://shop.example/?q=<script>"}
    assert rest.events[-1].materialised["$current_url"] == "https://shop.example/?q=<script>"


def test_filters_by_person_see_merged_ids_and_property_filters_follow_the_docs(two_projects) -> None:
    store, a, _ = two_projects
    alice = person_of(store, a, "alice")
    assert person_of(store, a, "anon-1") == alice  # the login merged the anonymous id
    mine = lookup.events_page(store, a, EventQuery(person_id=alice)).events
    assert [e.uuid[:8] for e in mine] == ["00000004", "00000003", "00000002", "00000001"]
    numeric = EventQuery(filters=(PropertyFilter(property="price", operator="gt", value=10),))
    assert [e.uuid[:8] for e in lookup.events_page(store, a, numeric).events] == ["00000006", "00000003"]
    local = EventQuery(date_from=dt.date(2024, 5, 4), date_to=dt.date(2024, 5, 4))  # Shanghai dates
    assert [e.uuid[:8] for e in lookup.events_page(store, a, local).events] == ["00000007", "00000006"]


def test_one_event_and_its_neighbours(two_projects) -> None:
    store, a, b = two_projects
    third = lookup.one_event(store, a, A_EVENTS[2]["uuid"])
    assert third is not None and third.event == "pay" and third.properties == {"price": 30, "channel": "微信"}
    assert lookup.one_event(store, a, A_EVENTS[2]["uuid"], at=at(2, 10)) == third
    assert lookup.one_event(store, a, A_EVENTS[2]["uuid"], at=at(9)) == third  # a wrong hint costs time only
    around = lookup.neighbours(store, a, third, n=1)
    assert [e.uuid[:8] for e in around.older] == ["00000002"]  # anon-1's, now alice's
    assert [e.uuid[:8] for e in around.newer] == ["00000004"]  # the tie, after by uuid
    assert lookup.one_event(store, a, B_EVENTS[0]["uuid"]) is None
    assert lookup.one_event(store, b, A_EVENTS[0]["uuid"]) is None


def test_event_names_are_the_projects_own(two_projects) -> None:
    store, a, b = two_projects
    assert lookup.event_names(store, a, days=365) == ["view", "pay", "$pageview", "signup"]
    assert lookup.event_names(store, a, days=1) == ["view"]  # only carol's, near the end
    assert lookup.event_names(store, b) == ["pay", "view"]
    assert lookup.event_names(store, b, days=7) == ["pay"]


def test_cursor_text_round_trips_and_rejects_junk() -> None:
    cursor = EventCursor(dt.datetime(2024, 5, 1, 0, 0, 0, 5), "a,b")
    assert EventCursor.decode(cursor.encode()) == cursor
    assert EventCursor.decode("2024-05-01T08:00:00+08:00,x").timestamp == dt.datetime(2024, 5, 1)
    person = PersonCursor(dt.datetime(2024, 5, 1), 17)
    assert PersonCursor.decode(person.encode()) == person
    for junk in ("", "x", "2024-05-01", "nonsense,abc"):
        with pytest.raises(ValueError):
            EventCursor.decode(junk)
    with pytest.raises(ValueError):
        PersonCursor.decode("2024-05-01T00:00:00,abc")


# ----------------------------------------------------------------------------- persons
def test_a_person_of_another_project_is_never_found(two_projects) -> None:
    store, a, b = two_projects
    zed, b_alice = person_of(store, b, "zed"), person_of(store, b, "alice")
    assert b_alice != person_of(store, a, "alice")
    for person in (zed, b_alice):
        assert lookup.person_detail(store, a, person) is None
        assert lookup.timeline(store, a, person).events == []
        assert lookup.summaries(store, a, [person]) == []
    assert lookup.search_persons(store, a, distinct_id="zed").persons == []
    assert not lookup.search_persons(store, a, property_key="email", property_value="zed@example.com").persons
    found = lookup.search_persons(store, a, property_key="city", property_value="上海").persons
    assert [p.person_id for p in found] == [person_of(store, a, "alice")]
    assert lookup.person_detail(store, b, zed) is not None


def test_search_by_distinct_id_prefix_puts_the_exact_match_first(two_projects) -> None:
    store, a, _ = two_projects
    found = lookup.search_persons(store, a, distinct_id="bob").persons
    assert [p.distinct_ids for p in found] == [["bob"], ["bobby"]]
    assert found[0].properties == {"email": "bob@example.com", "city": "北京"} and not found[0].is_identified
    exact = lookup.search_persons(store, a, distinct_id="bobby").persons
    assert [p.distinct_ids for p in exact] == [["bobby"]]
    merged = lookup.search_persons(store, a, distinct_id="anon").persons
    assert merged[0].distinct_ids == ["alice", "anon-1"] and merged[0].is_identified
    assert (merged[0].event_count, merged[0].first_seen, merged[0].last_seen) == (4, at(1, 9), at(2, 10))
    limited = lookup.search_persons(store, a, distinct_id="", property_key="email",
                                    property_value="bob@example.com")
    assert [p.distinct_ids for p in limited.persons] == [["bob"]]
    assert lookup.search_persons(store, a, distinct_id="b", limit=1).truncated


def test_search_by_property_uses_the_string_form(two_projects) -> None:
    store, a, _ = two_projects
    by_number = lookup.search_persons(store, a, property_key="age", property_value="30").persons
    assert [p.distinct_ids for p in by_number] == [["alice", "anon-1"]]
    both = lookup.search_persons(store, a, distinct_id="b", property_key="city", property_value="北京")
    assert [p.distinct_ids for p in both.persons] == [["bob"]]
    with pytest.raises(ValueError):
        lookup.search_persons(store, a)


def test_person_detail_totals_and_activity_by_local_day(two_projects) -> None:
    store, a, _ = two_projects
    bob = lookup.person_detail(store, a, person_of(store, a, "bob"))
    assert bob is not None and bob.distinct_ids == ["bob"] and bob.event_count == 2
    assert [(t.event, t.count) for t in bob.totals] == [("pay", 1), ("view", 1)]
    assert len(bob.activity) == lookup.ACTIVITY_DAYS
    # 2024-05-03 23:59 UTC is 2024-05-04 07:59 in Shanghai: the chart ends on the local day.
    assert bob.activity[-1] == lookup.DayCount(dt.date(2024, 5, 4), 1)
    assert bob.activity[-2] == lookup.DayCount(dt.date(2024, 5, 3), 0)
    assert bob.activity[-3] == lookup.DayCount(dt.date(2024, 5, 2), 1)
    assert sum(d.count for d in bob.activity) == 2
    alice = lookup.person_detail(store, a, person_of(store, a, "anon-1"))
    assert alice.is_identified and alice.properties["email"] == "alice@example.com"
    assert [e.uuid[:8] for e in lookup.timeline(store, a, alice.person_id, limit=3).events] == [
        "00000004", "00000003", "00000002"]


def test_recent_persons_pages_hold_each_person_once_by_last_event(two_projects) -> None:
    store, a, _ = two_projects
    expected = [person_of(store, a, d) for d in ("carol", "bobby", "bob", "alice")]
    with mock.patch.object(lookup, "WINDOWS", (dt.timedelta(hours=1), dt.timedelta(days=2))):
        for limit in (1, 2, 3, 10):
            seen, cursor = [], None
            while True:
                page = lookup.recent_persons(store, a, cursor, limit=limit)
                seen += [p.person_id for p in page.persons]
                if page.next is None:
                    break
                cursor = PersonCursor.decode(page.next.encode())
            assert seen == expected, limit
    first = lookup.recent_persons(store, a).persons[0]
    assert first.distinct_ids == ["carol"] and first.last_seen == at(20, 8) and first.event_count == 1


def test_recent_persons_ties_on_the_last_event_go_by_person_id() -> None:
    store = connect(":memory:")
    try:
        project = store.create_project("ties")
        write(store, project, [ev(i, f"u{i}", at(1)) for i in range(1, 6)])
        ids = [p.person_id for p in lookup.recent_persons(store, project).persons]
        assert ids == sorted(ids, reverse=True) and len(ids) == 5
        two = lookup.recent_persons(store, project, limit=2)
        rest = lookup.recent_persons(store, project, two.next, limit=10)
        assert [p.person_id for p in two.persons + rest.persons] == ids
        assert lookup.events_page(store, project, EventQuery(event="nothing")).events == []
        assert lookup.recent_persons(store, store.create_project("empty")).persons == []
    finally:
        store.close()
