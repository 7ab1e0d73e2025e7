"""The events explorer (事件) and users (用户) pages, in process, as vic (viewer of demo) sees them."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import pyarrow as pa
import pytest
from web_support import Workbench

from yunying.ingest import identity
from yunying.ingest.batch import IdentityLink, PersonOp
from yunying.ingest.person_index import PersonIndex
from yunying.ingest.writer import transaction, write_events
from yunying.store import Project, Store
from yunying.store.connection import connect
from yunying.store.schema import CANONICAL_EVENT

EN = {"Accept-Language": "en-US,en"}
ZH = {"Accept-Language": "zh-CN,zh"}
SCRIPT = "<script>alert('x')</script>"
LAST = dt.datetime(2026, 10, 31, 15, 59, 59, 999_999)  # 23:59:59 in Shanghai, after every demo event
ROW = re.compile(r'<tr data-uuid="([^"]+)"')


Row = tuple[str, str, str, dt.datetime, dict[str, Any]]  # uuid, event, distinct_id, timestamp, properties


def write(store: Store, project: Project, events: list[Row]) -> None:
    table = pa.Table.from_pylist([
        {"uuid": u, "event": name, "distinct_id": who, "timestamp": ts, "properties": json.dumps(props)}
        for u, name, who, ts, props in events], schema=CANONICAL_EVENT)
    write_events(store, project, table)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    bench = Workbench.build(tmp_path_factory.mktemp("explore"))
    store = connect(bench.path)
    try:
        demo, other = store.project("demo"), store.project("other")
        write(store, demo, [
            ("e0000000-0000-4000-8000-000000000001", "$pageview", "anon-xss",
             LAST - dt.timedelta(microseconds=1),
             {"$current_url": "https://shop.example/" + SCRIPT, "note": SCRIPT}),
            ("e0000000-0000-4000-8000-000000000002", "pay", "vip-001", LAST,
             {"amount": 88, "channel": "微信", "<b>key</b>": "v"}),
        ])
        write(store, other, [("f0000000-0000-4000-8000-000000000001", "view", "stranger", LAST, {})])
        index = PersonIndex()
        with transaction(store) as con:
            identity.apply_links(con, demo.project_id, [IdentityLink("anon-xss", "vip-001", "identify", 0)],
                                 index)
            identity.apply_person_ops(con, demo.project_id, [PersonOp(
                "vip-001", "set", {"email": "vip@example.com", "city": "杭州", "bio": SCRIPT}, 1)], index)
    finally:
        store.close()
    return bench


def person_of(bench: Workbench, project: str, distinct_id: str) -> int:
    store = connect(bench.path)
    try:
        pid = store.project(project).project_id
        return store.duckdb.execute("SELECT person_id FROM persons WHERE project_id = ? AND distinct_id = ?",
                                    [pid, distinct_id]).fetchall()[0][0]
    finally:
        store.close()


def href(page: str, rel: str) -> str | None:
    found = re.search(rf'<a class="button" href="([^"]+)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def no_keys_leak(page: str) -> None:
    """No word key of this area is shown as itself (a missing translation); explore.css is a file."""
    assert not re.findall(r"explore\.(?!css\b)[\w.]+", page)


# ----------------------------------------------------------------------------- events
@pytest.mark.parametrize(("headers", "words"), [(ZH, ("事件", "时间", "更早", "23:59:59")),
                                               (EN, ("Events", "Time", "Older", "11:59:59"))])
def test_the_latest_events_newest_first_in_both_languages(bench: Workbench, headers, words) -> None:
    with bench.client("vic") as client:
        page = client.get("/p/demo/events", headers=headers)
        assert page.status_code == 200 and "Server-Timing" in page.headers
        for word in words:
            assert word in page.text
        no_keys_leak(page.text)
        uuids = ROW.findall(page.text)
        assert len(uuids) == 50 and uuids[0] == "e0000000-0000-4000-8000-000000000002"
        assert "Asia/Shanghai" in page.text  # times are on the project's wall clock (UTC: 15:59:59)
        data = client.get("/api/v1/p/demo/events", headers=headers).json()
        assert [e["uuid"] for e in data["events"]] == uuids  # the JSON twin holds the same rows
        assert data["events"][0]["timestamp"] == "2026-10-31T15:59:59.999999Z"
        assert data["events"][0]["time"] == "2026-10-31T23:59:59.999999+08:00"
        assert href(page.text, "next") == data["next_url"]


def test_older_pages_continue_without_gaps_or_repeats(bench: Workbench) -> None:
    with bench.client("vic") as client:
        first = client.get("/api/v1/p/demo/events").json()
        page = client.get("/p/demo/events", headers=EN)
        second = client.get(href(page.text, "next"), headers=EN)
        assert second.status_code == 200
        older = ROW.findall(second.text)
        assert len(older) == 50 and not set(older) & {e["uuid"] for e in first["events"]}
        assert href(second.text, "first") == "/p/demo/events"
        twin = client.get("/api/v1" + href(page.text, "next")).json()
        assert [e["uuid"] for e in twin["events"]] == older
        last_of_first, first_of_second = first["events"][-1], twin["events"][0]
        assert (last_of_first["timestamp"], last_of_first["uuid"]) > (first_of_second["timestamp"],
                                                                       first_of_second["uuid"])
        assert client.get("/p/demo/events?before=junk").status_code == 400


def test_filters_narrow_the_list_and_keep_through_paging(bench: Workbench) -> None:
    with bench.client("vic") as client:
        pays = client.get("/api/v1/p/demo/events", params={"event": "pay"}).json()
        assert pays["events"] and {e["event"] for e in pays["events"]} == {"pay"}
        assert "pay" in pays["event_names"]
        wechat = client.get("/api/v1/p/demo/events", params=[("event", "pay"), ("prop", "channel"),
                                                               ("op", "eq"), ("value", "微信")]).json()
        assert wechat["events"] and all(["channel", "微信"] in e["properties"] for e in wechat["events"])
        assert wechat["filters"]["properties"] == [{"property": "channel", "operator": "eq", "value": "微信"}]
        if wechat["next_url"]:
            assert "prop=channel" in wechat["next_url"] and "event=pay" in wechat["next_url"]
        big = client.get("/api/v1/p/demo/events", params=[("prop", "amount"), ("op", "gte"),
                                                           ("value", "88")]).json()
        assert big["events"][0]["uuid"] == "e0000000-0000-4000-8000-000000000002"
        one_day = client.get("/api/v1/p/demo/events", params={"date_from": "2026-10-20",
                                                              "date_to": "2026-10-20"}).json()
        assert one_day["events"] and all(e["time"].startswith("2026-10-20") for e in one_day["events"])
        who = client.get("/api/v1/p/demo/events", params={"distinct_id": "anon-xss"}).json()
        assert [e["uuid"][:8] for e in who["events"]] == ["e0000000"]
        page = client.get("/p/demo/events", params=[("prop", "channel"), ("op", "eq"), ("value", "微信")])
        # the form shows the filter, and one empty row more to add another
        assert 'value="channel"' in page.text and page.text.count('name="prop"') == 2


def test_bad_filters_are_explained(bench: Workbench) -> None:
    with bench.client("vic") as client:
        answer = client.get("/p/demo/events", params=[("prop", "amount"), ("op", "gt"), ("value", "lots")],
                            headers=ZH)
        assert answer.status_code == 400 and "不是数字" in answer.text
        api = client.get("/api/v1/p/demo/events", params={"date_from": "2026-13-01"}, headers=EN)
        assert api.status_code == 400 and api.json()["error"]["field"] == "date_from"
        reversed_dates = client.get("/api/v1/p/demo/events", params={"date_from": "2026-10-02",
                                                                     "date_to": "2026-10-01"})
        assert reversed_dates.status_code == 400


def test_one_event_shows_every_column_and_escapes_its_properties(bench: Workbench) -> None:
    with bench.client("vic") as client:
        listed = client.get("/p/demo/events", headers=EN)
        assert SCRIPT not in listed.text and html.escape(SCRIPT).replace("&#x27;", "&#39;") in listed.text
        row = client.get("/api/v1/p/demo/events", params={"distinct_id": "anon-xss"}).json()["events"][0]
        page = client.get(row["url"], headers=EN)
        assert page.status_code == 200
        assert SCRIPT not in page.text and "&lt;script&gt;" in page.text
        no_keys_leak(page.text)
        for column in ("uuid", "distinct_id", "person_id", "inserted_at", "mat_current_url"):
            assert f"<code>{column}</code>" in page.text
        assert f'href="/p/demo/users/{row["person_id"]}"' in page.text
        twin = client.get("/api/v1" + row["url"]).json()
        assert twin["event"]["properties"]["note"] == SCRIPT  # the data itself is untouched
        assert json.loads(twin["properties_json"]) == twin["event"]["properties"]
        # the person's events around it: the payment of the same (merged) person comes after
        assert [e["uuid"][:8] for e in twin["newer"]] == ["e0000000"]
        assert twin["newer"][0]["event"] == "pay"
        without_hint = client.get("/api/v1/p/demo/events/" + row["uuid"]).json()
        assert without_hint["event"] == twin["event"]
        assert client.get("/p/demo/events/no-such-uuid").status_code == 404


# ----------------------------------------------------------------------------- users
@pytest.mark.parametrize(("headers", "words"), [(ZH, ("最近活跃用户", "已识别")),
                                               (EN, ("Recently active users", "Identified"))])
def test_recently_active_users_in_both_languages(bench: Workbench, headers, words) -> None:
    vip = person_of(bench, "demo", "vip-001")
    with bench.client("vic") as client:
        page = client.get("/p/demo/users", headers=headers)
        assert page.status_code == 200
        for word in words:
            assert word in page.text
        no_keys_leak(page.text)
        shown = re.findall(r'<tr data-person="(\d+)"', page.text)
        assert len(shown) == 50 and shown[0] == str(vip)
        data = client.get("/api/v1/p/demo/users", headers=headers).json()
        assert [str(p["person_id"]) for p in data["persons"]] == shown
        newest = data["persons"][0]
        assert newest["distinct_ids"] == ["anon-xss", "vip-001"] and newest["is_identified"]
        later = client.get(href(page.text, "next"), headers=headers)
        more = re.findall(r'<tr data-person="(\d+)"', later.text)
        assert more and not set(more) & set(shown)


def test_search_by_distinct_id_prefix_or_property(bench: Workbench) -> None:
    vip = person_of(bench, "demo", "vip-001")
    with bench.client("vic") as client:
        prefix = client.get("/api/v1/p/demo/users", params={"q": "vip-"}).json()
        assert [p["person_id"] for p in prefix["persons"]] == [vip] and prefix["mode"] == "search"
        by_city = client.get("/api/v1/p/demo/users", params={"key": "city", "value": "杭州"}).json()
        assert [p["person_id"] for p in by_city["persons"]] == [vip]
        assert ["city", "杭州"] in by_city["persons"][0]["properties"]
        page = client.get("/p/demo/users", params={"key": "email", "value": "vip@example.com"}, headers=ZH)
        assert f'<tr data-person="{vip}"' in page.text and "查询结果" in page.text
        none = client.get("/p/demo/users", params={"q": "nobody-at-all"}, headers=EN)
        assert "No user matches this search." in none.text
        assert client.get("/api/v1/p/demo/users", params={"key": "city"}).status_code == 400


@pytest.mark.parametrize("headers", [ZH, EN])
def test_one_user_profile_totals_activity_and_timeline(bench: Workbench, headers) -> None:
    vip = person_of(bench, "demo", "vip-001")
    with bench.client("vic") as client:
        page = client.get(f"/p/demo/users/{vip}", headers=headers)
        assert page.status_code == 200
        no_keys_leak(page.text)
        assert "vip@example.com" in page.text and SCRIPT not in page.text and "&lt;script&gt;" in page.text
        assert 'id="activity-chart"' in page.text and "plotly.min.js" in page.text
        data = client.get(f"/api/v1/p/demo/users/{vip}", headers=headers).json()
        person = data["person"]
        assert person["distinct_ids"] == ["anon-xss", "vip-001"] and person["event_count"] == 2
        assert {(t["event"], t["count"]) for t in person["totals"]} == {("pay", 1), ("$pageview", 1)}
        assert len(person["activity"]) == 30 and person["activity"][-1] == {"date": "2026-10-31", "count": 2}
        assert data["chart"]["data"][0]["y"][-1] == 2
        assert ROW.findall(page.text) == [e["uuid"] for e in data["timeline"]]
        assert [e["event"] for e in data["timeline"]] == ["pay", "$pageview"]


def test_a_long_timeline_pages_by_cursor(bench: Workbench) -> None:
    with bench.client("vic") as client:
        busiest = max(client.get("/api/v1/p/demo/users").json()["persons"], key=lambda p: p["event_count"])
        assert busiest["event_count"] > 50, "the demo should have someone with more than a page of events"
        page = client.get(busiest["url"], headers=EN)
        first = ROW.findall(page.text)
        second = client.get(href(page.text, "next"), headers=EN)
        rest = ROW.findall(second.text)
        assert len(first) == 50 and rest and not set(first) & set(rest)
        seen, url = first + rest, href(second.text, "next")
        while url:
            follow = client.get(url, headers=EN)
            seen += ROW.findall(follow.text)
            url = href(follow.text, "next")
        assert len(seen) == len(set(seen)) == busiest["event_count"]


# ----------------------------------------------------------------------------- isolation
def test_other_projects_and_their_people_are_not_found(bench: Workbench) -> None:
    stranger = person_of(bench, "other", "stranger")
    vip = person_of(bench, "demo", "vip-001")
    with bench.client("vic") as client:
        assert client.get(f"/p/demo/users/{stranger}").status_code == 404
        assert client.get(f"/api/v1/p/demo/users/{stranger}").json()["error"]["code"] == "not_found"
        assert client.get("/p/demo/events/f0000000-0000-4000-8000-000000000001").status_code == 404
        assert client.get("/api/v1/p/demo/users", params={"q": "stranger"}).json()["persons"] == []
        assert client.get("/p/demo/users/not-a-number").status_code == 404
        assert client.get("/p/other/events").status_code == 404
    with bench.client("otto") as client:
        for path in ("/p/demo/events", "/p/demo/users", f"/p/demo/users/{vip}",
                     "/p/demo/events/e0000000-0000-4000-8000-000000000002"):
            assert client.get(path).status_code == 404, path
            assert client.get("/api/v1" + path).status_code == 404, path
        own = client.get("/api/v1/p/other/events").json()
        assert [e["distinct_id"] for e in own["events"]] == ["stranger"]
        assert client.get(f"/p/other/users/{stranger}").status_code == 200
        assert client.get(f"/p/other/users/{vip}").status_code == 404
    with bench.client() as client:
        assert client.get("/p/demo/events", follow_redirects=False).status_code == 303
        assert client.get("/api/v1/p/demo/users").status_code == 401
