"""The insight builder (分析): every kind, the form <-> document mapping, saving, roles, languages."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import orjson
import pytest
from web_support import Workbench, csrf

from yunying.demo.build import DEMO_PROJECT
from yunying.insights import run_query
from yunying.store.connection import connect
from yunying.store.dashboards import dashboard, dashboards
from yunying.store.meta import Meta
from yunying.web.pages.insights import KINDS

CHART = 'data-figure="insight-chart-data"'


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("insights"))


def builder_url(kind: str, params: list[tuple[str, str]], api: bool = False) -> str:
    query = urlencode([("kind", kind), ("run", "1"), *params])
    return ("/api/v1" if api else "") + "/p/demo/insights/new?" + query


def test_every_kind_renders_its_chart_and_table_for_a_viewer(bench: Workbench) -> None:
    with bench.client("vic") as client:
        for kind in KINDS:
            page = client.get(f"/p/demo/insights/new?kind={kind}")
            assert page.status_code == 200, (kind, page.text[:500])
            assert CHART in page.text and 'class="data"' in page.text, kind
            assert "Server-Timing" in page.headers or "server-timing" in page.headers
            data = client.get(f"/api/v1/p/demo/insights/new?kind={kind}").json()
            assert data["result"]["kind"] == kind and data["error"] is None
            assert data["chart"]["data"] and data["table"]["rows"], kind
            assert "/insights/save" not in page.text  # a viewer runs insights but does not save them
        paths = client.get("/api/v1/p/demo/insights/new?kind=paths").json()
        assert paths["chart"]["data"][0]["type"] == "sankey"


def test_a_funnel_built_from_the_form_is_the_document_the_engine_runs(bench: Workbench) -> None:
    truth = bench.truth
    params = [("step_event", "app_open"), ("step_event", "view_product"), ("step_event", "pay"),
              ("window", "7d"), ("breakdown", "channel"), ("range", "custom"),
              ("date_from", truth["date_from"]), ("date_to", truth["date_to"]),
              ("filter_scope", ""), ("filter_property", "$os"), ("filter_operator", "neq"),
              ("filter_value", "Windows"),
              ("filter_scope", "3"), ("filter_property", "amount"), ("filter_operator", "gt"),
              ("filter_value", "10")]
    expected = {
        "kind": "funnel", "date_from": truth["date_from"], "date_to": truth["date_to"],
        "steps": [{"event": "app_open"}, {"event": "view_product"},
                  {"event": "pay", "filters": [{"property": "amount", "operator": "gt", "value": 10}]}],
        "window": "7d", "breakdown": "channel",
        "filters": [{"property": "$os", "operator": "neq", "value": "Windows"}],
    }
    with bench.client("ana") as client:
        data = client.get(builder_url("funnel", params, api=True)).json()
        page = client.get(builder_url("funnel", params))
    assert data["document"] == expected
    store = connect(bench.path)
    try:
        assert data["result"] == run_query(store, store.project(DEMO_PROJECT), expected).to_json()
    finally:
        store.close()
    assert data["result"]["breakdowns"]  # by channel
    assert 'name="window" value="7d"' in page.text and CHART in page.text


def test_rows_are_added_and_removed_without_javascript(bench: Workbench) -> None:
    params = [("series_event", "app_open"), ("series_math", "total"), ("series_property", ""),
              ("series_event", "pay"), ("series_math", "sum"), ("series_property", "amount"),
              ("filter_scope", "B"), ("filter_property", "channel"), ("filter_operator", "eq"),
              ("filter_value", "微信")]
    with bench.client("ana") as client:
        added = client.get(builder_url("trends", [*params, ("add", "series")], api=True)).json()
        assert len(added["form"]["series"]) == 3 and len(added["document"]["series"]) == 2
        removed = client.get(builder_url("trends", [*params, ("remove", "series.0")], api=True)).json()
    # the filter of series B follows it when A goes
    assert removed["document"]["series"] == [{
        "event": "pay", "math": "sum", "property": "amount",
        "filters": [{"property": "channel", "operator": "eq", "value": "微信"}]}]
    assert removed["form"]["filters"][0]["scope"] == "A"


def test_save_list_reopen_overwrite_add_to_a_dashboard_and_delete(bench: Workbench) -> None:
    params = [("series_event", "pay"), ("series_math", "sum"), ("series_property", "amount"),
              ("interval", "week"), ("breakdown", "channel"), ("compare", "1"), ("range", "last_14d"),
              ("filter_scope", ""), ("filter_property", "$city"), ("filter_operator", "eq"),
              ("filter_value", "上海")]
    with bench.client("ana") as client:
        built = client.get(builder_url("trends", params, api=True)).json()
        board = built["dashboards"][0]["dashboard_id"]
        token = csrf(client, "/p/demo/insights")
        answer = client.post("/p/demo/insights/save", data={
            "csrf_token": token, "name": "上海每周收入", "document": built["document_json"],
            "dashboard_id": str(board)}, follow_redirects=False)
        assert answer.status_code == 303
        location = answer.headers["location"]
        insight_id = int(re.search(r"/insights/(\d+)\?done=saved$", location).group(1))

        listing = client.get("/p/demo/insights")
        assert "上海每周收入" in listing.text and f"/p/demo/insights/{insight_id}" in listing.text
        reopened = client.get(location)
        assert reopened.status_code == 200 and CHART in reopened.text
        assert 'value="上海"' in reopened.text and 'value="amount"' in reopened.text
        again = client.get(f"/api/v1/p/demo/insights/{insight_id}").json()
        assert again["document"] == built["document"]
        assert again["form"]["series"] == [{"event": "pay", "math": "sum", "property": "amount"}]
        assert again["form"]["filters"] == [{"scope": "", "property": "$city", "operator": "eq",
                                             "value": "上海"}]
        assert again["form"]["interval"] == "week" and again["form"]["compare"] is True
        assert again["form"]["breakdown"] == "channel" and again["result"] == built["result"]

        renamed = client.post("/api/v1/p/demo/insights/save", json={
            "name": "Shanghai revenue", "document": built["document"], "insight_id": insight_id},
            headers={"X-CSRF-Token": token})
        assert renamed.json()["insight_id"] == insight_id
        assert "Shanghai revenue" in client.get("/p/demo/insights").text

        gone = client.post(f"/p/demo/insights/{insight_id}/delete", data={"csrf_token": token},
                           follow_redirects=False)
        assert gone.headers["location"] == "/p/demo/insights?done=deleted"
        assert client.get(location).status_code == 404
        assert "Shanghai revenue" not in client.get("/p/demo/insights").text


def test_saving_to_a_dashboard_adds_a_tile(bench: Workbench) -> None:
    document = {"kind": "stickiness", "event": "app_open", "interval": "day",
                "date_from": bench.truth["date_from"], "date_to": bench.truth["date_to"]}
    with bench.client("ana") as client:
        token = csrf(client, "/p/demo/insights")
        board = client.get("/api/v1/p/demo/insights/new?kind=trends").json()["dashboards"][0]["dashboard_id"]
        saved = client.post("/api/v1/p/demo/insights/save", headers={"X-CSRF-Token": token}, json={
            "name": "粘性", "document": document, "dashboard_id": board}).json()
        missing = client.post("/api/v1/p/demo/insights/save", json={
            "name": "x", "document": document, "dashboard_id": 9999}, headers={"X-CSRF-Token": token})
        assert missing.status_code == 404
    store = connect(bench.path)
    try:
        meta = Meta(store)
        project = store.project(DEMO_PROJECT)
        tiles = dashboard(meta, project.project_id, board).tiles
        assert tiles[-1].insight.insight_id == saved["insight_id"] and tiles[-1].insight.document == document
        assert len(dashboards(meta, project.project_id)) >= 1
        meta.close()
    finally:
        store.close()


def test_a_viewer_may_not_save_or_delete(bench: Workbench) -> None:
    with bench.client("vic") as client:
        token = csrf(client, "/p/demo/insights")
        document = client.get("/api/v1/p/demo/insights/new?kind=lifecycle").json()["document_json"]
        refused = client.post("/p/demo/insights/save", data={"csrf_token": token, "name": "n",
                                                              "document": document})
        assert refused.status_code == 403
        api = client.post("/api/v1/p/demo/insights/save", json={"name": "n", "document": document},
                          headers={"X-CSRF-Token": token})
        assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
        assert client.post("/p/demo/insights/1/delete", data={"csrf_token": token}).status_code == 403
        listing = client.get("/p/demo/insights")
        assert listing.status_code == 200 and "/delete" not in listing.text


def test_a_member_of_another_project_gets_404(bench: Workbench) -> None:
    with bench.client("otto") as client:
        token = csrf(client, "/p/other/insights")
        for path in ("/p/demo/insights", "/p/demo/insights/new?kind=funnel", "/p/demo/insights/1",
                     "/api/v1/p/demo/insights/new?kind=trends", "/api/v1/p/demo/catalog/events",
                     "/api/v1/p/demo/catalog/values?key=channel"):
            assert client.get(path).status_code == 404, path
        answer = client.post("/p/demo/insights/save", data={"csrf_token": token, "name": "n",
                                                            "document": "{}"})
        assert answer.status_code == 404
        # their own, empty project works and offers no event of demo
        own = client.get("/p/other/insights/new?kind=trends")
        assert own.status_code == 200 and 'value="app_open"' not in own.text


def test_a_bad_field_is_shown_at_the_form_and_is_a_400_in_json(bench: Workbench) -> None:
    bad_window = [("step_event", "app_open"), ("step_event", "pay"), ("window", "7x")]
    with bench.client("ana") as client:
        api = client.get(builder_url("funnel", bad_window, api=True))
        assert api.status_code == 400
        assert api.json()["error"]["field"] == "window" and "7x" in api.json()["error"]["message"]
        page = client.get(builder_url("funnel", bad_window))
        assert page.status_code == 200 and 'data-error-field="window"' in page.text
        assert re.search(r'name="window" value="7x"[^>]*aria-invalid="true"', page.text)
        assert CHART not in page.text and "/insights/save" not in page.text

        no_steps = client.get(builder_url("funnel", [("window", "1d")], api=True))
        assert no_steps.status_code == 400 and no_steps.json()["error"]["field"] == "steps"
        no_property = client.get(builder_url("trends", [("series_event", "pay"), ("series_math", "avg"),
                                                        ("series_property", "")], api=True))
        assert no_property.json()["error"]["field"] == "series.0"
        bad_number = client.get(builder_url("trends", [
            ("series_event", "pay"), ("series_math", "total"), ("series_property", ""),
            ("filter_scope", ""), ("filter_property", "amount"), ("filter_operator", "gt"),
            ("filter_value", "lots")]))
        assert re.search(r'name="filter_value" value="lots"[^>]*aria-invalid="true"', bad_number.text)
        bad_json = client.get("/p/demo/insights/new?" + urlencode({"q": '{"kind": "funnel",'}))
        assert bad_json.status_code == 200 and 'data-error-field="q"' in bad_json.text
        assert client.get("/api/v1/p/demo/insights/new?kind=nope").status_code == 400
        assert client.get("/p/demo/insights/new?kind=nope").status_code == 400
        assert client.get("/p/demo/insights/abc").status_code == 404


def test_a_document_opens_from_q_and_export_links_carry_it(bench: Workbench) -> None:
    document = {"kind": "paths", "event": "app_open", "direction": "before", "steps": 3,
                "exclude_events": ["$pageview"], "date_from": "2026-10-01", "date_to": "2026-10-07"}
    text = orjson.dumps(document).decode()
    with bench.client("vic") as client:
        data = client.get("/api/v1/p/demo/insights/new?" + urlencode({"q": text})).json()
        page = client.get("/p/demo/insights/new?" + urlencode({"q": text}))
    assert data["document"] == document and data["form"]["depth"] == "3"
    assert data["form"]["exclude_events"] == ["$pageview"] and data["form"]["direction"] == "before"
    assert data["links"]["csv"] == "/p/demo/export/insight.csv?" + urlencode({"q": text})
    assert data["links"]["xlsx"] == "/p/demo/export/insight.xlsx?" + urlencode({"q": text})
    assert 'data-export="csv"' in page.text and "<details" in page.text
    assert re.search(r'<option value="\$pageview" selected>', page.text)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_word_is_translated(bench: Workbench, locale: str) -> None:
    words = {"zh-CN": ("漏斗", "保存", "筛选条件"), "en": ("Funnel", "Save", "Filters")}[locale]
    with bench.client("ana") as client:
        client.cookies.set("yy_lang", locale)
        pages = [client.get(f"/p/demo/insights/new?kind={kind}").text for kind in KINDS]
        pages += [client.get(path).text for path in (
            "/p/demo/insights", "/p/demo/catalog/events", "/p/demo/catalog/properties",
            "/p/demo/catalog/values?key=channel",
            builder_url("funnel", [("step_event", "app_open"), ("window", "7x"),
                                   ("filter_property", "channel"), ("filter_scope", "1")]))]
    for html in pages:
        assert f'<html lang="{locale}">' in html
        assert not re.findall(r"\binsights\.[a-z_]+", html)  # a missing key shows itself
    assert all(any(w in html for html in pages) for w in words)


def test_both_languages_have_the_same_words() -> None:
    from yunying.web.i18n import catalog as words

    mine = {k for k in words("en") if k.startswith("insights.")}
    assert mine and mine == {k for k in words("zh-CN") if k.startswith("insights.")}


def test_events_and_properties_the_project_received_are_offered(bench: Workbench) -> None:
    with bench.client("vic") as client:
        page = client.get("/p/demo/insights/new?kind=funnel").text
        assert re.search(r'<datalist id="events-list">.*<option value="app_open">', page, re.S)
        assert re.search(r'<datalist id="props-list">.*<option value="channel">', page, re.S)
        events = client.get("/api/v1/p/demo/catalog/events").json()["events"]
        assert {"app_open", "pay"} <= {e["name"] for e in events}
        assert events == sorted(events, key=lambda e: -e["count"])
        keys = client.get("/api/v1/p/demo/catalog/properties?event=pay").json()["properties"]
        assert "amount" in keys
        values = client.get("/api/v1/p/demo/catalog/values?key=channel").json()["values"]
        assert "微信" in {v["value"] for v in values}
        assert client.get("/api/v1/p/demo/catalog/values").status_code == 400
        # a filter row's values are offered without a script
        with_filter = client.get(builder_url("trends", [
            ("series_event", "app_open"), ("series_math", "total"), ("series_property", ""),
            ("filter_scope", ""), ("filter_property", "channel"), ("filter_operator", "eq"),
            ("filter_value", "")])).text
        assert re.search(r'<datalist id="values-0">.*?<option value="微信">', with_filter, re.S)
