"""Exports (导出): CSV and Excel of an insight's table, a dashboard as a workbook or one HTML file."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from typing import Any
from urllib.parse import quote, unquote

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient
from web_support import Workbench

from yunying.insights import run_query
from yunying.reports.export import csv_cell
from yunying.reports.labels import LABELS
from yunying.reports.tables import Table, table

EN = {"Accept-Language": "en-US,en"}
TRENDS = {"kind": "trends", "interval": "day", "series": [{"event": "app_open", "math": "unique_users"}],
          "date_from": "2026-10-10", "date_to": "2026-10-16"}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("exports"))


def _table(client: TestClient, document: dict[str, Any], locale: str = "zh-CN") -> Table:
    state = client.app.state.yunying  # type: ignore[attr-defined]
    return table(run_query(state.store, state.store.project("demo"), document), LABELS[locale])


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _filename(answer: Any) -> str:
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    return unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))


def _sheet_values(body: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(body))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


def _as_cell(value: Any) -> Any:
    """A table value as openpyxl reads it back (dates come back as datetimes)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def _same(values: list[list[Any]], rows: list[list[Any]]) -> bool:
    """Sheet values equal table rows (floats to Excel's 15 significant digits)."""
    expected = [[_as_cell(v) for v in row] for row in rows]
    return values == [[pytest.approx(v, rel=1e-14) if isinstance(v, float) else v for v in row]
                      for row in expected]


def _demo_tiles(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/api/v1/p/demo/dashboards/1").json()["tiles"]


def test_a_query_document_exports_as_csv_equal_to_its_table(bench: Workbench) -> None:
    with bench.client("vic") as client:
        answer = client.get("/p/demo/export/insight.csv", params={"q": json.dumps(TRENDS)})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert _filename(answer) == "趋势（2026-10-10 至 2026-10-16）.csv"
        expected = _table(client, TRENDS)
        rows = _csv_rows(answer.content)
        assert rows[0] == expected.columns
        assert rows[1:] == [[csv_cell(v) for v in row] for row in expected.rows]
        assert len(rows) == 8  # a row per day


def test_a_query_document_exports_as_excel_with_the_same_values(bench: Workbench) -> None:
    with bench.client("vic") as client:
        answer = client.get("/p/demo/export/insight.xlsx", params={"q": json.dumps(TRENDS)}, headers=EN)
        assert answer.status_code == 200
        assert _filename(answer) == "Trends (2026-10-10 to 2026-10-16).xlsx"
        expected = _table(client, TRENDS, "en")
        [values] = _sheet_values(answer.content).values()
        assert values[0] == expected.columns
        assert _same(values[1:], expected.rows)


def test_a_saved_insight_exports_with_its_own_or_the_asked_dates(bench: Workbench) -> None:
    with bench.client("ana") as client:
        tiles = _demo_tiles(client)
        funnel = next(t for t in tiles if t["kind"] == "funnel")
        document = client.get(funnel["src"]).json()["tile"]["document"]
        saved = client.get(f"/p/demo/export/insights/{funnel['insight_id']}.csv")
        assert saved.status_code == 200
        assert _filename(saved).startswith(funnel["name"])
        own = {k: v for k, v in document.items() if k not in ("date_from", "date_to")}
        state = client.app.state.yunying  # type: ignore[attr-defined]
        stored = state.meta.value("SELECT document FROM saved_insights WHERE insight_id = ?",
                                  [funnel["insight_id"]])
        stored_document = json.loads(stored)
        assert {k: v for k, v in stored_document.items() if k not in ("date_from", "date_to")} == own
        expected = _table(client, stored_document)
        assert _csv_rows(saved.content)[1:] == [[csv_cell(v) for v in row] for row in expected.rows]

        week = client.get(f"/p/demo/export/insights/{funnel['insight_id']}.xlsx",
                          params={"date_from": "2026-10-20", "date_to": "2026-10-26"})
        assert week.status_code == 200 and "2026-10-20" in _filename(week)
        expected = _table(client, {**own, "date_from": "2026-10-20", "date_to": "2026-10-26"})
        [values] = _sheet_values(week.content).values()
        assert _same(values[1:], expected.rows)
        # the export link of a tile carries the dashboard's dates: the file equals the tile
        tile_csv = client.get(funnel["csv"])
        assert _csv_rows(tile_csv.content)[1:] == [[csv_cell(v) for v in row]
                                                   for row in _table(client, document).rows]


def test_a_dashboard_exports_as_a_workbook_with_a_sheet_per_tile(bench: Workbench) -> None:
    with bench.client("vic") as client:
        board = client.get("/api/v1/p/demo/dashboards/1").json()
        answer = client.get(board["exports"]["xlsx"])
        assert answer.status_code == 200
        assert _filename(answer).endswith(f"（{board['date_from']} 至 {board['date_to']}）.xlsx")
        sheets = _sheet_values(answer.content)
        assert len(sheets) == 7
        for (title, values), tile in zip(sheets.items(), board["tiles"], strict=True):
            assert title == tile["name"][:31]  # Excel allows 31 characters
            document = client.get(tile["src"]).json()["tile"]["document"]
            expected = _table(client, document)
            assert values[0] == expected.columns
            assert _same(values[1:], expected.rows)


@pytest.mark.parametrize(("headers", "lang"), [({}, "zh-CN"), (EN, "en")])
def test_a_dashboard_exports_as_one_offline_html_file(bench: Workbench, headers: dict[str, str],
                                                      lang: str) -> None:
    with bench.client("vic") as client:
        board = client.get("/api/v1/p/demo/dashboards/1").json()
        answer = client.get(board["exports"]["html"], headers=headers)
        assert answer.status_code == 200 and _filename(answer).endswith(".html")
        page = answer.text
        assert f'<html lang="{lang}">' in page
        assert not re.search(r"<script[^>]*\ssrc=", page, re.IGNORECASE)
        assert not re.search(r"<link[^>]*\shref=", page, re.IGNORECASE)
        assert "Plotly" in page  # plotly.js is inside the file
        for tile in board["tiles"]:
            assert html.escape(tile["name"]) in page
        assert ("日期" if lang == "zh-CN" else "Date") in page  # table headers in the viewer's language


def test_a_bad_query_document_is_refused_with_the_reason(bench: Workbench) -> None:
    with bench.client("vic") as client:
        cases = {"": "?q=", "{not json": "JSON", "[1, 2]": "JSON",
                 json.dumps({**TRENDS, "kind": "nonsense"}): "nonsense",
                 json.dumps({**TRENDS, "date_to": "2026-01-01"}): "date_to"}
        for q, reason in cases.items():
            answer = client.get("/p/demo/export/insight.csv?q=" + quote(q), headers=EN)
            assert answer.status_code == 400, q
            assert reason in answer.text, (q, answer.text)


def test_exports_of_another_project_are_404(bench: Workbench) -> None:
    with bench.client("ana") as client:
        insight_id = _demo_tiles(client)[0]["insight_id"]
    with bench.client("otto") as client:
        q = {"q": json.dumps(TRENDS)}
        for path, params in ((f"/p/demo/export/insights/{insight_id}.csv", {}),
                             ("/p/demo/export/insight.csv", q), ("/p/demo/dashboards/1/export.xlsx", {}),
                             ("/p/demo/dashboards/1/export.html", {}),
                             (f"/p/other/export/insights/{insight_id}.csv", {}),
                             (f"/p/other/export/insights/{insight_id}.xlsx", {}),
                             ("/p/other/dashboards/1/export.xlsx", {})):
            assert client.get(path, params=params).status_code == 404, path
        assert client.get("/p/other/export/insight.csv", params=q).status_code == 200
    with bench.client() as anonymous:
        assert anonymous.get("/p/demo/export/insight.csv", params=q,
                             follow_redirects=False).status_code == 303
