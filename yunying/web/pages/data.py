"""Data (数据): import a file from the browser, follow its progress, download its rejected rows;
what the project holds and what capture refused."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import orjson
from starlette.datastructures import UploadFile
from starlette.responses import Response

from yunying import settings
from yunying.ingest.sources import SUPPORTED, FileImportError
from yunying.reports.export import to_csv
from yunying.reports.tables import Table
from yunying.store.connection import validate_timezone
from yunying.web.errors import ApiError
from yunying.web.imports import ImportJob
from yunying.web.pages.framework import PageContext, Redirect, action, download, page

COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Tokyo", "Asia/Singapore", "UTC",
                "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles")


def _totals(pc: PageContext) -> dict[str, Any]:
    """Events, persons, first and last event of the project, and capture's refusals by reason."""
    pid = pc.project.project_id  # type: ignore[union-attr]
    zone = ZoneInfo(pc.project.timezone)  # type: ignore[union-attr]

    def read(reader: Any) -> dict[str, Any]:
        cursor = reader.duckdb
        events, first, last = cursor.execute(
            "SELECT count(*), min(timestamp), max(timestamp) FROM events WHERE project_id = ?",
            [pid]).fetchall()[0]
        persons = cursor.execute("SELECT count(DISTINCT person_id) FROM persons WHERE project_id = ?",
                                 [pid]).fetchall()[0][0]
        refused = cursor.execute(
            "SELECT wire_format, field, reason, count(*) AS n FROM ingest_rejects WHERE project_id = ? "
            "GROUP BY ALL ORDER BY n DESC, reason LIMIT 20", [pid]).fetchall()
        return {"events": events, "persons": persons,
                "first": _local(first, zone), "last": _local(last, zone),
                "refused": [{"wire_format": w, "field": f, "reason": r, "count": n}
                            for w, f, r, n in refused]}
    return pc.state.reads.call(read)


def _local(utc: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    return None if utc is None else utc.replace(tzinfo=dt.UTC).astimezone(zone)


@page("/p/{project}/data", "data.html", need="analyst")
def data(pc: PageContext) -> dict[str, Any]:
    return {"totals": _totals(pc), "jobs": [j.as_dict() for j in pc.state.imports.of(pc.project)],
            "zones": sorted({pc.project.timezone, *COMMON_ZONES}),  # type: ignore[union-attr]
            "supported": SUPPORTED, "max_upload_bytes": settings.get("max_upload_bytes"),
            "writer": pc.state.writer is not None}


@action("/p/{project}/data/import", need="analyst")
def start_import(pc: PageContext) -> Redirect:
    upload = pc.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ApiError(400, "no_file", pc.t("data.no_file"), "file")
    if pc.state.writer is None:
        raise ApiError(503, "no_writer", pc.t("data.no_writer"))
    timezone = str(pc.form.get("timezone") or pc.project.timezone)  # type: ignore[union-attr]
    try:
        validate_timezone(timezone)
        job = pc.state.imports.start(pc.state.writer, pc.project, upload.filename, upload.file,
                                     timezone=timezone, account=_who(pc),
                                     max_bytes=settings.get("max_upload_bytes"))
    except (FileImportError, ValueError) as exc:
        raise ApiError(400, "bad_file", str(exc), "file") from None
    return Redirect(pc.url(f"/data/imports/{job.job_id}"), job.as_dict())


def _who(pc: PageContext) -> str:
    session = pc.viewer.session
    return session.account.login if session else "api key"


def _job(pc: PageContext) -> ImportJob:
    job = pc.state.imports.get(pc.project, int(pc.request.path_params["job_id"]))
    if job is None:
        raise ApiError(404, "not_found", pc.t("data.no_job"))
    return job


@page("/p/{project}/data/imports/{job_id:int}", "data_import.html", need="analyst")
def import_status(pc: PageContext) -> dict[str, Any]:
    job = _job(pc)
    shown = [{"line": r.line, "field": r.field, "reason": r.reason,
              "raw": orjson.dumps(r.values, default=str).decode()[:300]} for r in job.rejects[:50]]
    return {"job": job.as_dict(), "rejects": shown}


@download("/p/{project}/data/imports/{job_id:int}/rejects.csv", need="analyst")
def rejects_csv(pc: PageContext) -> Response:
    job = _job(pc)
    t = pc.t
    table = Table([t("data.line"), t("data.field"), t("data.reason"), t("data.values")],
                  [[r.line, r.field, r.reason, orjson.dumps(r.values, default=str).decode()]
                   for r in job.rejects])
    name = quote(f"{job.filename}.rejects.csv")
    return Response(to_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
