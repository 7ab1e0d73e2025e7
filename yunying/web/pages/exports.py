"""Exports (导出): an insight's table as CSV or Excel, a dashboard as a workbook or one HTML file.

    GET /p/<project>/export/insight.csv?q=<document JSON>      (and .xlsx)
    GET /p/<project>/export/insights/<insight_id>.csv          (and .xlsx; ?range= or ?date_from=&date_to=)
    GET /p/<project>/dashboards/<id>/export.xlsx               (a sheet per tile)
    GET /p/<project>/dashboards/<id>/export.html               (plotly inlined: works offline)

Viewers may export. Headers and numbers are in the viewer's language; the file name says
what and which dates (Chinese allowed, ``filename*=UTF-8''…``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

import orjson
from starlette.responses import Response

from yunying.reports.export import Tile as HtmlTile
from yunying.reports.export import dashboard_html, to_csv, to_xlsx
from yunying.reports.tables import Table, table
from yunying.store import dashboards as boards
from yunying.web.errors import ApiError
from yunying.web.pages.common import run
from yunying.web.pages.dashboards import (
    chart_labels,
    dashboard_dates,
    project_time,
    run_tiles,
    tile_document,
)
from yunying.web.pages.framework import PageContext, download

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML_TYPE = "text/html; charset=utf-8"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")
NAME_MAX = 120


def attachment(body: bytes, filename: str, media_type: str, fallback: str) -> Response:
    """``body`` as a download named ``filename`` (UTF-8, RFC 6266/5987) with an ASCII ``fallback``."""
    readable = _UNSAFE.sub("_", filename).strip(" .") or fallback
    plain = _NOT_ASCII_NAME.sub("_", fallback).strip("_") or "export"
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(readable, safe='')}"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})


def file_name(pc: PageContext, name: str, date_from: Any, date_to: Any, extension: str) -> str:
    name = name.strip()[:NAME_MAX] or pc.t("dashboards.export.unnamed")
    return pc.t("dashboards.export.filename", name=name, date_from=str(date_from or ""),
                date_to=str(date_to or "")) + "." + extension


def _kind_name(pc: PageContext, kind: Any) -> str:
    key = f"dashboards.kind.{kind}"
    shown = pc.t(key)
    return str(kind) if shown == key else shown


def _table_file(pc: PageContext, document: dict[str, Any], name: str, extension: str) -> Response:
    result = run(pc, document)
    shown: Table = table(result, chart_labels(pc))
    date_from, date_to = document.get("date_from"), document.get("date_to")
    fallback = f"{document.get('kind')}_{date_from}_{date_to}.{extension}"
    filename = file_name(pc, name, date_from, date_to, extension)
    if extension == "csv":
        return attachment(to_csv(shown), filename, CSV_TYPE, fallback)
    return attachment(to_xlsx([(name, shown)]), filename, XLSX_TYPE, fallback)


def _document_of_q(pc: PageContext) -> dict[str, Any]:
    text = pc.params.get("q")
    if not text:
        raise ApiError(400, "bad_request", pc.t("dashboards.export.no_q"), "q")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", pc.t("dashboards.export.bad_q", reason=str(exc)), "q") from None
    if not isinstance(document, dict):
        raise ApiError(400, "bad_json", pc.t("dashboards.export.q_object"), "q")
    return document


@download("/p/{project}/export/insight.csv")
def insight_csv(pc: PageContext) -> Response:
    """The table of the query document ``q`` as CSV."""
    document = _document_of_q(pc)
    return _table_file(pc, document, _kind_name(pc, document.get("kind")), "csv")


@download("/p/{project}/export/insight.xlsx")
def insight_xlsx(pc: PageContext) -> Response:
    document = _document_of_q(pc)
    return _table_file(pc, document, _kind_name(pc, document.get("kind")), "xlsx")


def _saved(pc: PageContext, extension: str) -> Response:
    assert pc.project is not None
    saved = boards.insight(pc.state.meta, pc.project.project_id, int(pc.request.path_params["insight_id"]))
    document = saved.document
    params = pc.params
    if params.get("range") or (params.get("date_from") and params.get("date_to")):
        _, date_from, date_to = dashboard_dates(pc, "last_30d")
        document = tile_document(document, date_from, date_to)
    return _table_file(pc, document, saved.name, extension)


@download("/p/{project}/export/insights/{insight_id:int}.csv")
def saved_csv(pc: PageContext) -> Response:
    """A saved insight's table as CSV, with its own dates or those of ``?range=``/``?date_from=&date_to=``."""
    return _saved(pc, "csv")


@download("/p/{project}/export/insights/{insight_id:int}.xlsx")
def saved_xlsx(pc: PageContext) -> Response:
    return _saved(pc, "xlsx")


def _board_outcomes(pc: PageContext) -> tuple[Any, dt.date, dt.date, list[Any]]:
    assert pc.project is not None
    board_id = int(pc.request.path_params["dashboard_id"])
    board = boards.dashboard(pc.state.meta, pc.project.project_id, board_id)
    _, date_from, date_to = dashboard_dates(pc, board.date_range)
    return board, date_from, date_to, run_tiles(pc, board.tiles, date_from, date_to)


def _error_table(pc: PageContext, message: str) -> Table:
    return Table([pc.t("dashboards.export.error_column")], [[message]])


@download("/p/{project}/dashboards/{dashboard_id:int}/export.xlsx")
def dashboard_xlsx(pc: PageContext) -> Response:
    """A workbook with one sheet per tile (a tile that failed: a sheet with its error)."""
    board, date_from, date_to, outcomes = _board_outcomes(pc)
    sheets = [(o.insight.name, o.table if o.table is not None else _error_table(pc, o.error["message"]))
              for o in outcomes]
    return attachment(to_xlsx(sheets), file_name(pc, board.name, date_from, date_to, "xlsx"), XLSX_TYPE,
                      f"dashboard_{board.dashboard_id}_{date_from}_{date_to}.xlsx")


@download("/p/{project}/dashboards/{dashboard_id:int}/export.html")
def dashboard_file(pc: PageContext) -> Response:
    """The dashboard as one HTML file (charts and tables, plotly inlined) in the viewer's language."""
    assert pc.project is not None
    board, date_from, date_to, outcomes = _board_outcomes(pc)
    tiles = [HtmlTile(o.insight.name, o.figure, o.table,
                      description=o.error["message"] if o.error else "")
             for o in outcomes]
    title = pc.t("dashboards.export.title", name=board.name, date_from=date_from.isoformat(),
                 date_to=date_to.isoformat())
    now = project_time(pc.project, dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M")
    page = dashboard_html(title, tiles, lang=pc.t.locale, generated_at=now)
    return attachment(page.encode("utf-8"), file_name(pc, board.name, date_from, date_to, "html"), HTML_TYPE,
                      f"dashboard_{board.dashboard_id}_{date_from}_{date_to}.html")
