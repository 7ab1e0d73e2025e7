"""Dashboards (看板) of the workbench: tiles, date ranges, editing by role, the share link."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_support import Workbench, csrf

from yunying.insights import run_query
from yunying.store.dashboards import save_insight

EN = {"Accept-Language": "en-US,en"}
LEAKED_KEY = re.compile(r"dashboards\.[a-z_]+")  # a key shown instead of its words


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("dashboards"))


def _demo_board(client: TestClient, query: str = "") -> dict[str, Any]:
    answer = client.get("/api/v1/p/demo/dashboards/1" + query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _tile(client: TestClient, src: str) -> dict[str, Any]:
    answer = client.get(src)
    assert answer.status_code == 200, answer.text
    return answer.json()["tile"]


def _expected(client: TestClient, document: dict[str, Any], date_from: str, date_to: str) -> dict[str, Any]:
    state = client.app.state.yunying  # type: ignore[attr-defined]
    project = state.store.project("demo")
    return run_query(state.store, project, {**document, "date_from": date_from, "date_to": date_to}).to_json()


def _post(client: TestClient, path: str, token: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def _new_board(client: TestClient, token: str, name: str) -> int:
    made = _post(client, "/p/demo/dashboards/create", token, name=name, range="last_14d")
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/p/demo/dashboards/(\d+)\?done=saved", made.headers["location"])
    assert found, made.headers["location"]
    return int(found.group(1))


def _layout(client: TestClient, board_id: int) -> list[tuple[str, int]]:
    tiles = client.get(f"/api/v1/p/demo/dashboards/{board_id}").json()["tiles"]
    return [(t["name"], t["width"]) for t in tiles]


# ----------------------------------------------------------------------------- viewing
def test_the_demo_dashboard_shows_its_seven_tiles_each_with_a_chart(bench: Workbench) -> None:
    with bench.client("vic") as client:
        page = client.get("/p/demo/dashboards/1")
        assert page.status_code == 200
        assert float(page.headers["Server-Timing"].split("dur=")[1]) < 1000
        board = _demo_board(client)
        assert len(board["tiles"]) == 7
        assert page.text.count('data-tile="') == 7
        assert [t["width"] for t in board["tiles"]] == [2, 1, 1, 2, 1, 1, 2]
        assert page.text.count("card tile wide") == 3
        for tile in board["tiles"]:
            assert tile["name"] in page.text
            assert f'href="/p/demo/insights/{tile["insight_id"]}"' in page.text  # the name opens the builder
            assert tile["csv"] in page.text.replace("&amp;", "&")
            data = _tile(client, tile["src"])
            assert data["error"] is None and data["computed_at"]
            assert data["figure"]["data"], tile["name"]
            assert data["table"]["rows"] and len(data["table"]["columns"]) == len(data["table"]["rows"][0])


def test_a_tile_is_its_saved_document_run_with_the_dashboards_dates(bench: Workbench) -> None:
    end = dt.date.fromisoformat(bench.truth["date_to"])
    with bench.client("vic") as client:
        board = _demo_board(client)
        assert board["range"] == "last_30d"
        start = end - dt.timedelta(days=29)
        assert (board["date_from"], board["date_to"]) == (start.isoformat(), end.isoformat())
        for tile in board["tiles"]:
            data = _tile(client, tile["src"])
            assert (data["date_from"], data["date_to"]) == (board["date_from"], board["date_to"])
            assert data["result"] == _expected(client, data["document"], board["date_from"], board["date_to"])


def test_the_range_of_the_view_overrides_the_dashboards(bench: Workbench) -> None:
    end = dt.date.fromisoformat(bench.truth["date_to"])
    with bench.client("ana") as client:
        default = _demo_board(client)
        week = _demo_board(client, "?range=last_7d")
        week_start = end - dt.timedelta(days=6)
        assert (week["date_from"], week["date_to"]) == (week_start.isoformat(), end.isoformat())
        fixed = _demo_board(client, "?date_from=2026-10-05&date_to=2026-10-18")
        assert (fixed["date_from"], fixed["date_to"]) == ("2026-10-05", "2026-10-18")
        for choice in (week, fixed):
            first = _tile(client, choice["tiles"][0]["src"])
            before = _tile(client, default["tiles"][0]["src"])
            dates = choice["date_from"], choice["date_to"]
            assert first["result"] == _expected(client, first["document"], *dates)
            assert first["result"] != before["result"]  # other days, other numbers
            assert len(first["result"]["series"][0]["values"]) < len(before["result"]["series"][0]["values"])
        assert client.get("/p/demo/dashboards/1?range=yesterday-ish").status_code == 400


def test_a_tile_that_fails_shows_its_error_and_the_others_still_render(bench: Workbench) -> None:
    with bench.client("ana") as client:
        token = csrf(client, "/p/demo/dashboards")
        board_id = _new_board(client, token, "有一个坏图表 One broken tile")
        state = client.app.state.yunying  # type: ignore[attr-defined]
        project_id = state.store.project("demo").project_id
        broken = save_insight(state.meta, project_id, "坏的 Broken",
                              {"kind": "trends", "series": [{"event": "app_open", "math": "no_such_math"}],
                               "date_from": "2026-10-01", "date_to": "2026-10-07"}, None)
        demo_tiles = _demo_board(client)["tiles"]
        for insight_id in (demo_tiles[0]["insight_id"], broken.insight_id):
            added = _post(client, f"/p/demo/dashboards/{board_id}/add", token, insight_id=insight_id)
            assert added.status_code == 303
        tiles = client.get(f"/api/v1/p/demo/dashboards/{board_id}").json()["tiles"]
        good, bad = (_tile(client, t["src"]) for t in tiles)
        assert good["error"] is None and good["figure"]["data"]
        assert bad["error"]["code"] == "bad_query" and "math" in bad["error"]["message"]
        assert bad["figure"] is None and bad["result"] is None


# ----------------------------------------------------------------------------- editing
def test_an_analyst_creates_renames_arranges_and_deletes_a_dashboard(bench: Workbench) -> None:
    with bench.client("ana") as client:
        token = csrf(client, "/p/demo/dashboards")
        board_id = _new_board(client, token, "周报 Weekly")
        listed = client.get("/api/v1/p/demo/dashboards").json()["dashboards"]
        assert {"name": "周报 Weekly", "tiles": 0, "shared": False} in [
            {k: d[k] for k in ("name", "tiles", "shared")} for d in listed]
        page = client.get(f"/p/demo/dashboards/{board_id}").text
        offered = re.findall(r'<option value="(\d+)">', page)  # the saved insights that may be added
        assert len(offered) >= 7
        first, second, third = (int(i) for i in offered[:3])
        for insight_id, width in ((first, 1), (second, 2), (third, 1)):
            added = _post(client, f"/p/demo/dashboards/{board_id}/add", token, insight_id=insight_id,
                          width=width)
            assert added.status_code == 303
        names = [n for n, _ in _layout(client, board_id)]
        assert len(names) == 3 and _layout(client, board_id)[1][1] == 2

        base = f"/p/demo/dashboards/{board_id}/tiles"
        assert _post(client, f"{base}/{first}/move", token, direction="down").status_code == 303
        assert [n for n, _ in _layout(client, board_id)] == [names[1], names[0], names[2]]
        assert _post(client, f"{base}/{third}/move", token, direction="up").status_code == 303
        assert [n for n, _ in _layout(client, board_id)] == [names[1], names[2], names[0]]
        assert _post(client, f"{base}/{first}/width", token, width=2).status_code == 303
        assert _layout(client, board_id)[2] == (names[0], 2)
        assert _post(client, f"{base}/{second}/remove", token).status_code == 303
        assert _layout(client, board_id) == [(names[2], 1), (names[0], 2)]
        page = client.get(f"/p/demo/dashboards/{board_id}").text
        assert page.index(names[2]) < page.index(names[0]) and page.count('data-tile="') == 2

        renamed = _post(client, f"/p/demo/dashboards/{board_id}/update", token, name="月报 Monthly",
                        range="custom", date_from="2026-10-01", date_to="2026-10-14")
        assert renamed.status_code == 303
        board = client.get(f"/api/v1/p/demo/dashboards/{board_id}").json()
        assert board["dashboard"]["name"] == "月报 Monthly"
        assert board["dashboard"]["date_range"] == "2026-10-01..2026-10-14"
        assert (board["date_from"], board["date_to"]) == ("2026-10-01", "2026-10-14")
        update = f"/p/demo/dashboards/{board_id}/update"
        assert _post(client, update, token, range="last_9000d").status_code == 400
        assert _post(client, update, token, name="x" * 500).status_code == 400

        page = client.get(f"/p/demo/dashboards/{board_id}").text
        assert re.search(r'action="/p/demo/dashboards/\d+/delete" data-confirm="[^"]+"', page)
        gone = _post(client, f"/p/demo/dashboards/{board_id}/delete", token)
        assert gone.status_code == 303 and gone.headers["location"] == "/p/demo/dashboards?done=deleted"
        assert client.get(f"/p/demo/dashboards/{board_id}").status_code == 404
        assert "月报 Monthly" not in client.get("/p/demo/dashboards").text


def test_the_json_api_edits_too(bench: Workbench) -> None:
    with bench.client("ana") as client:
        headers = {"X-CSRF-Token": csrf(client, "/p/demo/dashboards")}
        made = client.post("/api/v1/p/demo/dashboards/create", json={"name": "API"}, headers=headers).json()
        board_id = made["dashboard_id"]
        demo = [t["insight_id"] for t in _demo_board(client)["tiles"]]
        base = f"/api/v1/p/demo/dashboards/{board_id}"
        for insight_id in demo[:3]:
            client.post(f"{base}/add", json={"insight_id": insight_id}, headers=headers)
        layout = [[demo[2], 2], [demo[0], 1]]
        done = client.post(f"{base}/arrange", json={"layout": layout}, headers=headers)
        assert done.status_code == 200, done.text
        tiles = client.get(f"/api/v1/p/demo/dashboards/{board_id}").json()["tiles"]
        assert [[t["insight_id"], t["width"]] for t in tiles] == layout
        wrong = client.post(f"{base}/arrange", json={"layout": [[999999, 1]]}, headers=headers)
        assert wrong.status_code == 404
        assert client.post(f"{base}/delete", json={}, headers=headers).status_code == 200


def test_a_viewer_sees_no_edit_controls_and_may_not_edit(bench: Workbench) -> None:
    with bench.client("vic") as client:
        token = csrf(client, "/p/demo/dashboards")
        for path in ("/p/demo/dashboards", "/p/demo/dashboards/1"):
            page = client.get(path).text
            assert "data-edit" not in page and 'method="post" action="/p/demo/dashboards' not in page
        insight_id = _demo_board(client)["tiles"][0]["insight_id"]
        actions = [("/p/demo/dashboards/create", {"name": "mine"}),
                   ("/p/demo/dashboards/1/update", {"name": "mine"}),
                   ("/p/demo/dashboards/1/add", {"insight_id": insight_id}),
                   ("/p/demo/dashboards/1/arrange", {"layout": f"{insight_id}:1"}),
                   ("/p/demo/dashboards/1/share", {"shared": "1"}),
                   (f"/p/demo/dashboards/1/tiles/{insight_id}/move", {"direction": "down"}),
                   (f"/p/demo/dashboards/1/tiles/{insight_id}/width", {"width": "1"}),
                   (f"/p/demo/dashboards/1/tiles/{insight_id}/remove", {}),
                   ("/p/demo/dashboards/1/delete", {})]
        for path, fields in actions:
            assert _post(client, path, token, **fields).status_code == 403, path
            api = client.post("/api/v1" + path, json=fields, headers={"X-CSRF-Token": token})
            assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
        assert len(_demo_board(client)["tiles"]) == 7 and _demo_board(client)["dashboard"]["shared"] is False


def test_a_member_of_another_project_gets_404(bench: Workbench) -> None:
    with bench.client("otto") as client:
        token = csrf(client, "/p/other/")
        for path in ("/p/demo/dashboards", "/p/demo/dashboards/1", "/p/demo/dashboards/1/tiles/1",
                     "/api/v1/p/demo/dashboards/1", "/api/v1/p/demo/dashboards/1/tiles/1",
                     "/p/other/dashboards/1", "/api/v1/p/other/dashboards/1/tiles/1"):
            assert client.get(path).status_code == 404, path
        for path in ("/p/demo/dashboards/1/delete", "/p/other/dashboards/1/delete",
                     "/p/other/dashboards/1/share"):
            assert _post(client, path, token, shared="1").status_code == 404, path
        assert client.get("/p/other/dashboards").status_code == 200


# ----------------------------------------------------------------------------- sharing
def test_a_shared_link_opens_read_only_without_a_login_until_turned_off(bench: Workbench) -> None:
    with bench.client("ana") as client:
        token = csrf(client, "/p/demo/dashboards/1")
        on = client.post("/api/v1/p/demo/dashboards/1/share", json={"shared": True},
                         headers={"X-CSRF-Token": token}).json()
        link = on["share_url"]
        path = link.removeprefix("http://127.0.0.1:8000")
        assert path.startswith("/share/") and link in client.get("/p/demo/dashboards/1").text
        board = _demo_board(client)
        inside = [_tile(client, t["src"]) for t in board["tiles"]]
    with bench.client() as anonymous:
        page = anonymous.get(path)
        assert page.status_code == 200
        assert "/p/demo" not in page.text and "data-nav" not in page.text and "data-edit" not in page.text
        assert "insights/" not in page.text and "export" not in page.text
        assert "<form method=\"post\" action=\"/lang\"" in page.text  # only the language switch posts
        shared = anonymous.get("/api/v1" + path).json()
        assert [t["name"] for t in shared["tiles"]] == [t["name"] for t in board["tiles"]]
        for tile, mine in zip(shared["tiles"], inside, strict=True):
            assert tile["name"] in page.text
            data = _tile(anonymous, tile["src"])
            assert data["result"] == mine["result"] and data["figure"]["data"]
        assert anonymous.get(f"{path}/tiles/999999").status_code == 404
        assert anonymous.get("/p/demo/dashboards/1", follow_redirects=False).status_code == 303
    with bench.client("ana") as client:
        token = csrf(client, "/p/demo/dashboards/1")
        off = _post(client, "/p/demo/dashboards/1/share", token, shared="0")
        assert off.status_code == 303
        assert "/share/" not in client.get("/p/demo/dashboards/1").text
        again = client.post("/api/v1/p/demo/dashboards/1/share", json={"shared": True},
                            headers={"X-CSRF-Token": token}).json()["share_url"]
        assert again != link  # a new link: the old one stays dead
        _post(client, "/p/demo/dashboards/1/share", token, shared="0")
    with bench.client() as anonymous:
        assert anonymous.get(path).status_code == 404
        assert anonymous.get(shared["tiles"][0]["src"]).status_code == 404
        assert anonymous.get("/share/not-a-token").status_code == 404


# ----------------------------------------------------------------------------- languages
@pytest.mark.parametrize(("headers", "words"),
                         [({}, ("看板", "刷新", "导出")), (EN, ("Dashboards", "Refresh", "Export"))])
def test_pages_render_in_both_languages_without_missing_words(bench: Workbench, headers: dict[str, str],
                                                              words: tuple[str, ...]) -> None:
    with bench.client("ana") as client:
        board = _demo_board(client)
        pages = [client.get(path, headers=headers).text
                 for path in ("/p/demo/dashboards", "/p/demo/dashboards/1", board["tiles"][1]["page"])]
        token = csrf(client, "/p/demo/dashboards/1")
        link = client.post("/api/v1/p/demo/dashboards/1/share", json={"shared": True},
                           headers={"X-CSRF-Token": token}).json()["share_url"]
        path = link.removeprefix("http://127.0.0.1:8000")
        with bench.client() as anonymous:
            pages.append(anonymous.get(path, headers=headers).text)
            shared = anonymous.get("/api/v1" + path, headers=headers).json()
            pages.append(str(_tile(anonymous, shared["tiles"][0]["src"])))
        _post(client, "/p/demo/dashboards/1/share", token, shared="0")
    for text in pages:
        assert not LEAKED_KEY.search(text), LEAKED_KEY.search(text)
    for word in words:
        assert word in pages[1]
    assert words[0] in pages[0] and words[1] in pages[3]
