"""The SQL console (自定义查询): one read-only SELECT over the project's own rows.

The engine (yunying/store/sql_console.py) checks the statement with DuckDB's own parser,
shows it only this project's rows, stops it after ``sql_console_timeout_ms`` and returns at
most ``sql_console_row_cap`` rows. The query travels in the URL (``?q=``), so a result can
be bookmarked and shared with the project's other analysts.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from yunying import settings
from yunying.reports.export import to_csv
from yunying.reports.tables import Table
from yunying.store.sql_console import TABLES, SqlConsoleError, SqlResult, run_sql
from yunying.web.errors import ApiError
from yunying.web.pages.framework import PageContext, download, page

MAX_SQL_CHARS = 20_000
EXAMPLE = ("SELECT event, count(*) AS events, count(DISTINCT person_id) AS users\n"
           "FROM events\nWHERE timestamp >= now() - INTERVAL 30 DAY\nGROUP BY event\nORDER BY events DESC")


def _run(pc: PageContext, sql: str) -> SqlResult:
    if len(sql) > MAX_SQL_CHARS:
        raise SqlConsoleError("too_long", f"the query is longer than {MAX_SQL_CHARS:,} characters")
    pid = pc.project.project_id  # type: ignore[union-attr]
    return pc.state.reads.call(lambda reader: run_sql(
        reader.duckdb, pid, sql, row_cap=settings.get("sql_console_row_cap"),
        timeout_ms=settings.get("sql_console_timeout_ms")))


def _cell(value: Any) -> Any:
    """A value as the page and its JSON show it (numbers stay numbers)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


@page("/p/{project}/sql", "sql.html", need="analyst")
def console(pc: PageContext) -> dict[str, Any]:
    sql = pc.params.get("q", "")
    data: dict[str, Any] = {"sql": sql or EXAMPLE, "ran": bool(sql.strip()), "tables": TABLES,
                            "row_cap": settings.get("sql_console_row_cap"),
                            "timeout_s": settings.get("sql_console_timeout_ms") / 1000,
                            "result": None, "error": None}
    if not data["ran"]:
        return data
    try:
        result = _run(pc, sql)
    except SqlConsoleError as exc:
        if pc.is_api:
            raise ApiError(400, f"sql_{exc.code}", exc.message) from None
        data["error"] = {"code": exc.code, "message": exc.message}
        return data
    data["result"] = {"columns": result.columns, "types": result.types, "truncated": result.truncated,
                      "elapsed_ms": round(result.elapsed_ms, 1),
                      "rows": [[_cell(v) for v in row] for row in result.rows]}
    return data


@download("/p/{project}/sql.csv", need="analyst")
def console_csv(pc: PageContext) -> Response:
    try:
        result = _run(pc, pc.params.get("q", ""))
    except SqlConsoleError as exc:
        raise ApiError(400, f"sql_{exc.code}", exc.message) from None
    table = Table(list(result.columns), [[_cell(v) for v in row] for row in result.rows])
    name = quote(f"{pc.project.name}-sql.csv")  # type: ignore[union-attr]
    return Response(to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
