"""Saved insights, dashboards and their tiles, and per-project workbench settings.

A saved insight keeps its query document (the same JSON ``yunying query`` takes), never SQL.
A dashboard has a date range (a preset such as ``last_30d`` or ``2026-10-01..2026-10-31``)
that replaces the dates of every tile when shown, an ordered list of tiles, and optionally a
share token that opens it read-only to anyone with the link.
Every function takes the project id and never touches another project's rows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from yunying.store.meta import Meta, utcnow


class NotFound(LookupError):
    """No such insight or dashboard in this project."""


@dataclass(frozen=True)
class SavedInsight:
    insight_id: int
    name: str
    document: dict[str, Any]
    updated_at: str


@dataclass(frozen=True)
class Tile:
    insight: SavedInsight
    position: int
    width: int  # 1 = half a row, 2 = a full row


@dataclass(frozen=True)
class Dashboard:
    dashboard_id: int
    name: str
    date_range: str
    share_token: str | None
    tiles: tuple[Tile, ...] = ()


# ---------------------------------------------------------------- saved insights
def _insight(row: tuple[Any, ...]) -> SavedInsight:
    return SavedInsight(row[0], row[1], orjson.loads(row[2]), row[3].isoformat(timespec="seconds"))


def save_insight(meta: Meta, project_id: int, name: str, document: dict[str, Any],
                 account_id: int | None, insight_id: int | None = None) -> SavedInsight:
    """Create (or, with ``insight_id``, overwrite) a saved insight; the document must be valid already."""
    now = utcnow()
    text = orjson.dumps(document).decode()
    with meta.transaction():
        if insight_id is None:
            insight_id = meta.next_id("saved_insights")
            meta.rows("INSERT INTO saved_insights VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [insight_id, project_id, name, text, account_id, now, now])
        elif not meta.rows("UPDATE saved_insights SET name = ?, document = ?, updated_at = ? "
                           "WHERE insight_id = ? AND project_id = ? RETURNING insight_id",
                           [name, text, now, insight_id, project_id]):
            raise NotFound(f"no saved insight {insight_id}")
    return SavedInsight(insight_id, name, document, now.isoformat(timespec="seconds"))


def insight(meta: Meta, project_id: int, insight_id: int) -> SavedInsight:
    row = meta.row("SELECT insight_id, name, document, updated_at FROM saved_insights "
                   "WHERE insight_id = ? AND project_id = ?", [insight_id, project_id])
    if row is None:
        raise NotFound(f"no saved insight {insight_id}")
    return _insight(row)


def insights(meta: Meta, project_id: int) -> list[SavedInsight]:
    rows = meta.rows("SELECT insight_id, name, document, updated_at FROM saved_insights "
                     "WHERE project_id = ? ORDER BY updated_at DESC, insight_id DESC", [project_id])
    return [_insight(r) for r in rows]


def delete_insight(meta: Meta, project_id: int, insight_id: int) -> None:
    with meta.transaction():
        insight(meta, project_id, insight_id)
        meta.rows("DELETE FROM dashboard_tiles WHERE insight_id = ?", [insight_id])
        meta.rows("DELETE FROM saved_insights WHERE insight_id = ?", [insight_id])


# ---------------------------------------------------------------- dashboards
_DASHBOARD_COLUMNS = "dashboard_id, name, date_range, share_token"


def create_dashboard(meta: Meta, project_id: int, name: str, account_id: int | None,
                     date_range: str = "last_30d") -> Dashboard:
    now = utcnow()
    with meta.transaction():
        dashboard_id = meta.next_id("dashboards")
        meta.rows("INSERT INTO dashboards VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
                  [dashboard_id, project_id, name, date_range, account_id, now, now])
    return Dashboard(dashboard_id, name, date_range, None)


def dashboards(meta: Meta, project_id: int) -> list[Dashboard]:
    rows = meta.rows(f"SELECT {_DASHBOARD_COLUMNS} FROM dashboards WHERE project_id = ? "
                     "ORDER BY dashboard_id", [project_id])
    return [Dashboard(*r) for r in rows]


def dashboard(meta: Meta, project_id: int, dashboard_id: int) -> Dashboard:
    """The dashboard with its tiles in order."""
    row = meta.row(f"SELECT {_DASHBOARD_COLUMNS} FROM dashboards WHERE dashboard_id = ? AND project_id = ?",
                   [dashboard_id, project_id])
    if row is None:
        raise NotFound(f"no dashboard {dashboard_id}")
    tiles = meta.rows(
        "SELECT i.insight_id, i.name, i.document, i.updated_at, t.position, t.width "
        "FROM dashboard_tiles t JOIN saved_insights i USING (insight_id) "
        "WHERE t.dashboard_id = ? AND i.project_id = ? ORDER BY t.position, i.insight_id",
        [dashboard_id, project_id])
    return Dashboard(*row, tiles=tuple(Tile(_insight(t[:4]), t[4], t[5]) for t in tiles))


def shared_dashboard(meta: Meta, token: str) -> tuple[int, Dashboard] | None:
    """(project_id, dashboard) that the share link ``token`` opens, or None."""
    row = meta.row("SELECT project_id, dashboard_id FROM dashboards WHERE share_token = ?", [token])
    return None if row is None or not token else (row[0], dashboard(meta, row[0], row[1]))


def update_dashboard(meta: Meta, project_id: int, dashboard_id: int, *, name: str | None = None,
                     date_range: str | None = None) -> Dashboard:
    with meta.transaction():
        current = dashboard(meta, project_id, dashboard_id)
        meta.rows("UPDATE dashboards SET name = ?, date_range = ?, updated_at = ? WHERE dashboard_id = ?",
                  [name or current.name, date_range or current.date_range, utcnow(), dashboard_id])
    return dashboard(meta, project_id, dashboard_id)


def set_sharing(meta: Meta, project_id: int, dashboard_id: int, shared: bool) -> str | None:
    """Turn the read-only link on (a new token each time) or off; the token, or None."""
    token = secrets.token_urlsafe(24) if shared else None
    with meta.transaction():
        dashboard(meta, project_id, dashboard_id)
        meta.rows("UPDATE dashboards SET share_token = ? WHERE dashboard_id = ?", [token, dashboard_id])
    return token


def delete_dashboard(meta: Meta, project_id: int, dashboard_id: int) -> None:
    with meta.transaction():
        dashboard(meta, project_id, dashboard_id)
        meta.rows("DELETE FROM dashboard_tiles WHERE dashboard_id = ?", [dashboard_id])
        meta.rows("DELETE FROM dashboards WHERE dashboard_id = ?", [dashboard_id])


def add_tile(meta: Meta, project_id: int, dashboard_id: int, insight_id: int, width: int = 1) -> None:
    """Put the saved insight at the end of the dashboard."""
    with meta.transaction():
        dashboard(meta, project_id, dashboard_id)
        insight(meta, project_id, insight_id)
        last = meta.value("SELECT coalesce(max(position), -1) FROM dashboard_tiles WHERE dashboard_id = ?",
                          [dashboard_id])
        meta.rows("DELETE FROM dashboard_tiles WHERE dashboard_id = ? AND insight_id = ?",
                  [dashboard_id, insight_id])
        meta.rows("INSERT INTO dashboard_tiles VALUES (?, ?, ?, ?)",
                  [dashboard_id, insight_id, last + 1, 2 if width >= 2 else 1])


def arrange_tiles(meta: Meta, project_id: int, dashboard_id: int, layout: list[tuple[int, int]]) -> None:
    """Set the tiles to ``layout``: (insight_id, width) in display order; tiles left out are removed."""
    with meta.transaction():
        current = {t.insight.insight_id for t in dashboard(meta, project_id, dashboard_id).tiles}
        unknown = [i for i, _ in layout if i not in current]
        if unknown:
            raise NotFound(f"insight {unknown[0]} is not on this dashboard")
        meta.rows("DELETE FROM dashboard_tiles WHERE dashboard_id = ?", [dashboard_id])
        for position, (insight_id, width) in enumerate(layout):
            meta.rows("INSERT INTO dashboard_tiles VALUES (?, ?, ?, ?)",
                      [dashboard_id, insight_id, position, 2 if width >= 2 else 1])


# ---------------------------------------------------------------- project settings
def project_settings(meta: Meta, project_id: int) -> dict[str, Any]:
    rows = meta.rows("SELECT key, value FROM project_settings WHERE project_id = ?", [project_id])
    return {k: orjson.loads(v) for k, v in rows}


def set_project_settings(meta: Meta, project_id: int, values: dict[str, Any]) -> None:
    """Replace the given keys (a None value removes the key)."""
    with meta.transaction():
        for key, value in values.items():
            meta.rows("DELETE FROM project_settings WHERE project_id = ? AND key = ?", [project_id, key])
            if value is not None:
                meta.rows("INSERT INTO project_settings VALUES (?, ?, ?)",
                          [project_id, key, orjson.dumps(value).decode()])
