"""Dashboards (看板): saved insights laid out as tiles, one date range for all of them.

The dashboard page renders only the frame (names, layout, links, edit controls): each tile's
numbers come from its own endpoint (``…/dashboards/<id>/tiles/<insight_id>``, JSON twin under
``/api/v1``) fetched by static/dashboard.js, so the page answers in milliseconds however slow
a tile's query is, tiles appear as they finish, and a tile whose query fails shows its error
while the others render. Results are cached by the read pool until the project's data
changes; ``computed_at`` says when a tile's numbers were computed.

A dashboard's stored range (``last_30d``, ``2026-10-01..2026-10-31``) replaces the dates of
every tile's document; ``?range=`` or ``?date_from=&date_to=`` override it for one view.
Analysts and admins edit; viewers see no edit controls and get 403 from every action.
``/share/<token>`` shows a shared dashboard read-only to anyone with the link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import orjson
from babel import numbers as babel_numbers

from yunying.insights import InsightError, Result
from yunying.insights.relative import PRESETS, fixed, resolve
from yunying.reports.charts import figure
from yunying.reports.labels import LABELS, ChartLabels
from yunying.reports.naming import bucket_label
from yunying.reports.tables import Table, table
from yunying.store import Project
from yunying.store import dashboards as boards
from yunying.store.dashboards import Dashboard, NotFound, SavedInsight, Tile
from yunying.web.errors import ApiError
from yunying.web.pages.common import date_range, range_choices, run
from yunying.web.pages.framework import API_PREFIX, PageContext, Redirect, action, page

NAME_MAX = 200
TILE_WORKERS = 2  # the read pool's size: more would only queue
EDIT_ACTIONS = ("update", "delete", "share", "add", "arrange")


# ----------------------------------------------------------------------------- dates
def dashboard_dates(pc: PageContext, default: str) -> tuple[str, dt.date, dt.date]:
    """(spec, date_from, date_to) of this view: ``?date_from=&date_to=``, ``?range=``, else ``default``.

    Fixed dates need no 'today', so the project's last day is only looked up for presets.
    """
    params = pc.params
    if params.get("date_from") and params.get("date_to"):
        try:
            start, end = dt.date.fromisoformat(params["date_from"]), dt.date.fromisoformat(params["date_to"])
        except ValueError:
            raise _bad_range(pc) from None
        spec = fixed(start, end)
        return spec, *_resolve(pc, spec, start)
    spec = params.get("range") or default
    if spec not in PRESETS:
        try:
            return spec, *resolve(spec, dt.date.today())
        except ValueError:
            raise _bad_range(pc) from None
    return date_range(pc, default=default)


def _resolve(pc: PageContext, spec: str, today: dt.date) -> tuple[dt.date, dt.date]:
    try:
        return resolve(spec, today)
    except ValueError:
        raise _bad_range(pc) from None


def _bad_range(pc: PageContext) -> ApiError:
    return ApiError(400, "bad_range", pc.t("dashboards.error.range"), "range")


def range_label(pc: PageContext, spec: str) -> str:
    """A stored range as words: the preset's name, or the two dates."""
    if spec in PRESETS:
        return pc.t(f"range.{spec}")
    try:
        start, end = resolve(spec, dt.date.today())
    except ValueError:
        return spec
    return pc.t("dashboards.period", date_from=pc.t.date(start), date_to=pc.t.date(end))


def tile_document(document: dict[str, Any], date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """The tile's saved document with the dashboard's dates."""
    return {**document, "date_from": date_from.isoformat(), "date_to": date_to.isoformat()}


# ----------------------------------------------------------------------------- running tiles
_COMPUTED: OrderedDict[int, tuple[Result, dt.datetime]] = OrderedDict()
_COMPUTED_LOCK = threading.Lock()
_COMPUTED_MAX = 512


def computed_at(result: Result) -> dt.datetime:
    """When ``result`` was computed: the first time it was seen here.

    The read pool hands back the same result object while its cache entry is valid, so a
    cached result keeps the time it was first computed at.
    """
    with _COMPUTED_LOCK:
        seen = _COMPUTED.get(id(result))
        if seen is not None and seen[0] is result:
            _COMPUTED.move_to_end(id(result))
            return seen[1]
        now = dt.datetime.now(dt.UTC)
        _COMPUTED[id(result)] = (result, now)
        while len(_COMPUTED) > _COMPUTED_MAX:
            _COMPUTED.popitem(last=False)
        return now


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A tile run: its document with the dashboard's dates, and a result or an error."""

    insight: SavedInsight
    width: int
    document: dict[str, Any]
    result: Result | None
    figure: dict[str, Any] | None
    table: Table | None
    error: dict[str, str] | None
    computed_at: dt.datetime | None


def run_tile(pc: PageContext, insight: SavedInsight, width: int, date_from: dt.date,
             date_to: dt.date) -> Outcome:
    """Run one tile; a failure (bad document, timeout, a kind without a chart) becomes its error."""
    document = tile_document(insight.document, date_from, date_to)
    labels = chart_labels(pc)
    try:
        result = run(pc, document)
    except ApiError as exc:
        return Outcome(insight, width, document, None, None, None, {"code": exc.code, "message": exc.message},
                       None)
    except (InsightError, ValueError) as exc:
        return Outcome(insight, width, document, None, None, None, {"code": "bad_query", "message": str(exc)},
                       None)
    when = computed_at(result)
    try:
        shown_figure, shown_table = figure(result, labels), table(result, labels)
    except ValueError:
        error = {"code": "no_chart", "message": pc.t("dashboards.error.no_chart", kind=result.kind)}
        return Outcome(insight, width, document, result, None, None, error, when)
    return Outcome(insight, width, document, result, shown_figure, shown_table, None, when)


def run_tiles(pc: PageContext, tiles: Sequence[Tile], date_from: dt.date, date_to: dt.date) -> list[Outcome]:
    """Every tile, two at a time (the read pool's size), in order."""
    if not tiles:
        return []
    with ThreadPoolExecutor(max_workers=TILE_WORKERS) as pool:
        return list(pool.map(lambda t: run_tile(pc, t.insight, t.width, date_from, date_to), tiles))


def chart_labels(pc: PageContext) -> ChartLabels:
    return LABELS.get(pc.t.locale) or ChartLabels.english()


def display_table(pc: PageContext, shown: Table) -> dict[str, Any]:
    """A table as text in the viewer's language (what the tile shows), and which columns are numbers."""
    numeric = [
        all(row[c] is None or _is_number(row[c]) for row in shown.rows)
        and any(_is_number(row[c]) for row in shown.rows)
        for c in range(len(shown.columns))
    ]
    cell = _cell_format(pc)
    rows = [[cell(value, c in shown.percent_columns) for c, value in enumerate(row)] for row in shown.rows]
    return {"columns": list(shown.columns), "rows": rows, "numeric": numeric}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell_format(pc: PageContext) -> Callable[[Any, bool], str]:
    """Cells as ``t.number``/``t.percent`` show them, with the Babel locale parsed once per table
    (``t.number`` parses it on every call: ~0.5 ms, too slow for a table of hundreds of rows)."""
    locale = pc.t.babel

    def cell(value: Any, percent: bool) -> str:
        if value is None:
            return "–"
        if _is_number(value):
            if percent:
                return babel_numbers.format_percent(value, format="#,##0.0%", locale=locale)
            pattern = "#,##0" if float(value).is_integer() else "#,##0.00"
            return babel_numbers.format_decimal(value, format=pattern, locale=locale)
        if isinstance(value, dt.date):
            return bucket_label(value)
        return str(value)

    return cell


def project_time(project: Project, moment: dt.datetime) -> dt.datetime:
    """``moment`` on the project's clock (naive, for display)."""
    return moment.astimezone(ZoneInfo(project.timezone)).replace(tzinfo=None)


def tile_data(pc: PageContext, outcome: Outcome) -> dict[str, Any]:
    """What a tile endpoint answers: the document run, its result, chart, table, time or error."""
    assert pc.project is not None
    when = outcome.computed_at
    shown_time = pc.t.datetime(project_time(pc.project, when)) if when else ""
    return {
        "insight_id": outcome.insight.insight_id,
        "name": outcome.insight.name,
        "kind": outcome.document.get("kind"),
        "width": outcome.width,
        "date_from": outcome.document["date_from"],
        "date_to": outcome.document["date_to"],
        "document": outcome.document,
        "result": outcome.result.to_json() if outcome.result is not None else None,
        "figure": outcome.figure,
        "table": display_table(pc, outcome.table) if outcome.table is not None else None,
        "computed_at": when.isoformat(timespec="seconds") if when else None,
        "computed_time": shown_time,
        "computed_label": pc.t("dashboards.computed_at", time=shown_time) if when else "",
        "error": outcome.error,
    }


# ----------------------------------------------------------------------------- URLs
def _query(date_from: dt.date, date_to: dt.date) -> str:
    return urlencode({"date_from": date_from.isoformat(), "date_to": date_to.isoformat()})


def board_path(board_id: int, rest: str = "") -> str:
    return f"/dashboards/{board_id}{rest}"


def tile_links(pc: PageContext, board_id: int, insight_id: int, date_from: dt.date,
               date_to: dt.date) -> dict[str, str]:
    """Where a tile of a project's dashboard links to: its data, its insight, its exports."""
    dates = _query(date_from, date_to)
    return {
        "src": API_PREFIX + pc.url(board_path(board_id, f"/tiles/{insight_id}")) + "?" + dates,
        "page": pc.url(board_path(board_id, f"/tiles/{insight_id}")) + "?" + dates,
        "insight_url": pc.url(f"/insights/{insight_id}"),
        "csv": pc.url(f"/export/insights/{insight_id}.csv") + "?" + dates,
        "xlsx": pc.url(f"/export/insights/{insight_id}.xlsx") + "?" + dates,
    }


def share_url(pc: PageContext, token: str) -> str:
    return str(pc.request.base_url).rstrip("/") + share_path(token)


def share_path(token: str, rest: str = "") -> str:
    return f"/share/{quote(token, safe='')}{rest}"


def _tile_actions(pc: PageContext, board_id: int, insight_id: int) -> dict[str, str]:
    base = board_path(board_id, f"/tiles/{insight_id}")
    return {name: pc.url(f"{base}/{name}") for name in ("move", "width", "remove")}


# ----------------------------------------------------------------------------- pages
def _board(pc: PageContext) -> Dashboard:
    assert pc.project is not None
    return boards.dashboard(pc.state.meta, pc.project.project_id, int(pc.request.path_params["dashboard_id"]))


def _can_edit(pc: PageContext) -> bool:
    return pc.project is not None and pc.viewer.can(pc.project, "analyst")


@page("/p/{project}/dashboards", "dashboards_list.html")
def dashboards_list(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    listed = []
    for summary in boards.dashboards(pc.state.meta, pc.project.project_id):
        board = boards.dashboard(pc.state.meta, pc.project.project_id, summary.dashboard_id)
        listed.append({
            "id": board.dashboard_id, "name": board.name, "tiles": len(board.tiles),
            "shared": board.share_token is not None, "date_range": board.date_range,
            "range_label": range_label(pc, board.date_range), "url": pc.url(board_path(board.dashboard_id)),
        })
    return {"dashboards": listed, "can_edit": _can_edit(pc), "ranges": range_choices(pc),
            "create_url": pc.url("/dashboards/create")}


@page("/p/{project}/dashboards/{dashboard_id:int}", "dashboard.html")
def dashboard_page(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    board = _board(pc)
    spec, date_from, date_to = dashboard_dates(pc, board.date_range)
    can_edit = _can_edit(pc)
    tiles = []
    for position, tile in enumerate(board.tiles):
        entry = {
            "insight_id": tile.insight.insight_id, "name": tile.insight.name,
            "kind": tile.insight.document.get("kind"), "width": tile.width,
            **tile_links(pc, board.dashboard_id, tile.insight.insight_id, date_from, date_to),
        }
        if can_edit:
            entry["actions"] = _tile_actions(pc, board.dashboard_id, tile.insight.insight_id)
            entry["first"], entry["last"] = position == 0, position == len(board.tiles) - 1
        tiles.append(entry)
    on_board = {t.insight.insight_id for t in board.tiles}
    insights = [{"insight_id": i.insight_id, "name": i.name, "kind": i.document.get("kind")}
                for i in boards.insights(pc.state.meta, pc.project.project_id)
                if i.insight_id not in on_board] if can_edit else []
    dates = _query(date_from, date_to)
    path = board_path(board.dashboard_id)
    stored_from, stored_to = (None, None) if board.date_range in PRESETS else _resolve(
        pc, board.date_range, date_to)
    return {
        "dashboard": {
            "id": board.dashboard_id, "name": board.name, "date_range": board.date_range,
            "range_label": range_label(pc, board.date_range), "shared": board.share_token is not None,
            "share_url": share_url(pc, board.share_token) if can_edit and board.share_token else None,
            "range_from": stored_from.isoformat() if stored_from else None,
            "range_to": stored_to.isoformat() if stored_to else None, "url": pc.url(path),
        },
        "range": spec, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
        "ranges": range_choices(pc), "tiles": tiles, "can_edit": can_edit, "insights": insights,
        "exports": {"xlsx": pc.url(path + "/export.xlsx") + "?" + dates,
                    "html": pc.url(path + "/export.html") + "?" + dates},
        "actions": {name: pc.url(f"{path}/{name}") for name in EDIT_ACTIONS} if can_edit else {},
        "list_url": pc.url("/dashboards"),
    }


@page("/p/{project}/dashboards/{dashboard_id:int}/tiles/{insight_id:int}", "dashboard.html")
def tile_page(pc: PageContext) -> dict[str, Any]:
    """One tile's numbers (the dashboard page fetches the JSON twin); as HTML, the tile alone."""
    board = _board(pc)
    tile = _tile_of(board, int(pc.request.path_params["insight_id"]))
    _, date_from, date_to = dashboard_dates(pc, board.date_range)
    data = tile_data(pc, run_tile(pc, tile.insight, tile.width, date_from, date_to))
    data.update(tile_links(pc, board.dashboard_id, tile.insight.insight_id, date_from, date_to))
    about = {"id": board.dashboard_id, "name": board.name, "url": pc.url(board_path(board.dashboard_id))}
    return {"dashboard": about, "tile": data}


def _tile_of(board: Dashboard, insight_id: int) -> Tile:
    for tile in board.tiles:
        if tile.insight.insight_id == insight_id:
            return tile
    raise NotFound(f"insight {insight_id} is not on this dashboard")


# ----------------------------------------------------------------------------- the shared link
def _shared(pc: PageContext) -> tuple[PageContext, Dashboard, str]:
    """(a context on the dashboard's project, the dashboard, its token); 404 for a wrong or old token."""
    token = str(pc.request.path_params["token"])
    found = boards.shared_dashboard(pc.state.meta, token)
    project = None
    if found is not None:
        project = next((p for p in pc.state.projects() if p.project_id == found[0]), None)
    if found is None or project is None:
        raise ApiError(404, "not_found", pc.t("dashboards.share.gone"))
    return dataclasses.replace(pc, project=project), found[1], token


@page("/share/{token}", "dashboard_shared.html", need=None, public=True)
def shared_page(pc: PageContext) -> dict[str, Any]:
    """A shared dashboard, read-only, for anyone with the link: no project nav, no links into it."""
    inside, board, token = _shared(pc)
    spec, date_from, date_to = dashboard_dates(inside, board.date_range)
    dates = _query(date_from, date_to)
    tiles = [{"insight_id": t.insight.insight_id, "name": t.insight.name,
              "kind": t.insight.document.get("kind"), "width": t.width,
              "src": API_PREFIX + share_path(token, f"/tiles/{t.insight.insight_id}") + "?" + dates}
             for t in board.tiles]
    return {"dashboard": {"name": board.name, "url": share_path(token)}, "range": spec,
            "date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
            "ranges": range_choices(pc), "tiles": tiles}


@page("/share/{token}/tiles/{insight_id:int}", "dashboard_shared.html", need=None, public=True)
def shared_tile(pc: PageContext) -> dict[str, Any]:
    inside, board, token = _shared(pc)
    tile = _tile_of(board, int(pc.request.path_params["insight_id"]))
    _, date_from, date_to = dashboard_dates(inside, board.date_range)
    data = tile_data(inside, run_tile(inside, tile.insight, tile.width, date_from, date_to))
    data["src"] = API_PREFIX + share_path(token, f"/tiles/{tile.insight.insight_id}") + "?" + _query(
        date_from, date_to)
    return {"dashboard": {"name": board.name, "url": share_path(token)}, "tile": data}


# ----------------------------------------------------------------------------- actions
def _text(pc: PageContext, name: str) -> str:
    value = pc.form.get(name)
    if isinstance(value, list):
        value = value[-1]
    return "" if value is None else str(value).strip()


def _number(pc: PageContext, name: str) -> int:
    value = pc.form.get(name)
    if isinstance(value, list):
        value = value[-1]
    if isinstance(value, bool):
        value = None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ApiError(400, "bad_request", pc.t("dashboards.error.number", field=name), name) from None


def _name(pc: PageContext, required: bool = True) -> str | None:
    name = _text(pc, "name")
    if not name:
        if required:
            raise ApiError(400, "bad_request", pc.t("dashboards.error.name"), "name")
        return None
    if len(name) > NAME_MAX:
        raise ApiError(400, "bad_request", pc.t("dashboards.error.name_long", max=NAME_MAX), "name")
    return name


def _form_range(pc: PageContext) -> str | None:
    """A stored range from the form: a preset, or ``custom`` with date_from and date_to; None: unchanged."""
    spec = _text(pc, "range")
    start, end = _text(pc, "date_from"), _text(pc, "date_to")
    if spec == "custom" or (not spec and start and end):
        try:
            spec = fixed(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        except ValueError:
            raise _bad_range(pc) from None
    if not spec:
        return None
    _resolve(pc, spec, dt.date.today())
    return spec


def _back(pc: PageContext, board_id: int, done: str = "saved") -> Redirect:
    return Redirect(pc.url(board_path(board_id), done=done), {"ok": True, "dashboard_id": board_id})


@action("/p/{project}/dashboards/create")
def create(pc: PageContext) -> Redirect:
    assert pc.project is not None
    name = _name(pc)
    assert name is not None
    account = pc.viewer.session.account.account_id if pc.viewer.session else None
    board = boards.create_dashboard(pc.state.meta, pc.project.project_id, name, account,
                                    date_range=_form_range(pc) or "last_30d")
    url = pc.url(board_path(board.dashboard_id))
    return Redirect(pc.url(board_path(board.dashboard_id), done="saved"),
                    {"ok": True, "dashboard_id": board.dashboard_id, "url": url})


@action("/p/{project}/dashboards/{dashboard_id:int}/update")
def update(pc: PageContext) -> Redirect:
    """Rename and/or set the default date range."""
    assert pc.project is not None
    board = _board(pc)
    boards.update_dashboard(pc.state.meta, pc.project.project_id, board.dashboard_id,
                            name=_name(pc, required=False), date_range=_form_range(pc))
    return _back(pc, board.dashboard_id)


@action("/p/{project}/dashboards/{dashboard_id:int}/delete")
def delete(pc: PageContext) -> Redirect:
    assert pc.project is not None
    board = _board(pc)
    boards.delete_dashboard(pc.state.meta, pc.project.project_id, board.dashboard_id)
    return Redirect(pc.url("/dashboards", done="deleted"), {"ok": True})


@action("/p/{project}/dashboards/{dashboard_id:int}/share")
def share(pc: PageContext) -> Redirect:
    """Turn the read-only link on (a new token: an old link stops working) or off."""
    assert pc.project is not None
    board = _board(pc)
    raw = pc.form.get("shared")
    on = raw is True or str(raw).lower() in ("1", "on", "true", "yes")
    token = boards.set_sharing(pc.state.meta, pc.project.project_id, board.dashboard_id, on)
    return Redirect(pc.url(board_path(board.dashboard_id), done="saved"),
                    {"ok": True, "shared": token is not None,
                     "share_url": share_url(pc, token) if token else None})


@action("/p/{project}/dashboards/{dashboard_id:int}/add")
def add(pc: PageContext) -> Redirect:
    """Put a saved insight of the project at the end of the dashboard."""
    assert pc.project is not None
    board = _board(pc)
    insight_id = _number(pc, "insight_id")
    width = _number(pc, "width") if _text(pc, "width") else 1
    boards.add_tile(pc.state.meta, pc.project.project_id, board.dashboard_id, insight_id, width)
    return _back(pc, board.dashboard_id)


def _layout(board: Dashboard) -> list[list[int]]:
    return [[t.insight.insight_id, t.width] for t in board.tiles]


def _set_layout(pc: PageContext, board: Dashboard, layout: list[list[int]]) -> Redirect:
    assert pc.project is not None
    boards.arrange_tiles(pc.state.meta, pc.project.project_id, board.dashboard_id,
                         [(i, w) for i, w in layout])
    return _back(pc, board.dashboard_id)


def _position(pc: PageContext, board: Dashboard) -> int:
    insight_id = int(pc.request.path_params["insight_id"])
    _tile_of(board, insight_id)
    return next(i for i, t in enumerate(board.tiles) if t.insight.insight_id == insight_id)


@action("/p/{project}/dashboards/{dashboard_id:int}/tiles/{insight_id:int}/move")
def move(pc: PageContext) -> Redirect:
    """Move a tile one place up or down (``direction``)."""
    board = _board(pc)
    at = _position(pc, board)
    direction = _text(pc, "direction")
    if direction not in ("up", "down"):
        raise ApiError(400, "bad_request", pc.t("dashboards.error.direction"), "direction")
    layout = _layout(board)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(layout):
        layout[at], layout[to] = layout[to], layout[at]
    return _set_layout(pc, board, layout)


@action("/p/{project}/dashboards/{dashboard_id:int}/tiles/{insight_id:int}/width")
def width(pc: PageContext) -> Redirect:
    """Make a tile a full row (``width`` 2) or half a row (1)."""
    board = _board(pc)
    at = _position(pc, board)
    wanted = _number(pc, "width")
    if wanted not in (1, 2):
        raise ApiError(400, "bad_request", pc.t("dashboards.error.width"), "width")
    layout = _layout(board)
    layout[at][1] = wanted
    return _set_layout(pc, board, layout)


@action("/p/{project}/dashboards/{dashboard_id:int}/tiles/{insight_id:int}/remove")
def remove(pc: PageContext) -> Redirect:
    """Take a tile off the dashboard (the saved insight stays)."""
    board = _board(pc)
    at = _position(pc, board)
    layout = _layout(board)
    del layout[at]
    return _set_layout(pc, board, layout)


@action("/p/{project}/dashboards/{dashboard_id:int}/arrange")
def arrange(pc: PageContext) -> Redirect:
    """The whole layout at once: ``layout`` = ``[[insight_id, width], …]`` in order (JSON, or
    ``"id:width,id:width"`` in a form); tiles left out are removed."""
    board = _board(pc)
    raw = pc.form.get("layout")
    try:
        if isinstance(raw, str):
            text = raw.strip()
            pairs = orjson.loads(text) if text.startswith("[") else [
                part.split(":") for part in text.split(",") if part.strip()]
        else:
            pairs = raw
        layout = [[int(p[0]), int(p[1]) if len(p) > 1 else 1] for p in pairs or []]
    except (TypeError, ValueError, IndexError, KeyError, orjson.JSONDecodeError):
        raise ApiError(400, "bad_request", pc.t("dashboards.error.layout"), "layout") from None
    if len({i for i, _ in layout}) != len(layout) or any(w not in (1, 2) for _, w in layout):
        raise ApiError(400, "bad_request", pc.t("dashboards.error.layout"), "layout")
    return _set_layout(pc, board, layout)
