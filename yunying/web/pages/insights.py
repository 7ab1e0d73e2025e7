"""The insight builder (分析): saved insights, a builder for every kind, save, delete, the catalog.

Routes (each page also as JSON under ``/api/v1``):

* ``GET  /p/{project}/insights``                   saved insights of the project, new-insight buttons
* ``GET  /p/{project}/insights/new?kind=…``        the builder of one kind
* ``GET  /p/{project}/insights/{id}``              a saved insight in the builder
* ``POST /p/{project}/insights/save``              save (analyst): name, document, insight_id, dashboard_id
* ``POST /p/{project}/insights/{id}/delete``       delete (analyst)
* ``GET  /p/{project}/catalog/events|properties|values``  what the project has received (autocomplete)

The builder is a GET form: its fields are the query parameters, so every state of it is a
link. The form and the query document meet in one place, :func:`form_from_params`,
:func:`document_from_form` and :func:`form_from_document` below; a saved insight re-opens
with its fields filled from its document. ``?q=<document JSON>`` opens any document as is.

Form fields (query parameters): ``kind``; ``range`` (a preset, ``custom`` for ``date_from`` /
``date_to``, or ``YYYY-MM-DD..YYYY-MM-DD``); ``timezone``; rows as repeated parameters —
trends ``series_event``/``series_math``/``series_property``, funnel ``step_event``, filters
``filter_scope``/``filter_property``/``filter_operator``/``filter_value`` (the scope is empty
for all events, a series letter ``A``…, a step number ``1``… or ``start``/``return``);
``formula``, ``compare``, ``interval``, ``breakdown``, ``breakdown_limit``, ``window``,
``start_event``, ``return_event``, ``period``, ``periods``, ``event``, ``direction``, ``depth``
(paths' ``steps``), ``exclude_events`` (repeated). ``run=1`` marks a submitted form;
``add=series|step|filter`` and ``remove=<row path>`` add and remove rows without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, get_args
from zoneinfo import ZoneInfo

import orjson
from babel import Locale

from yunying.insights import InsightError, catalog, parse_document
from yunying.insights.documents import ANY_EVENT, FilterOperator, Interval, Period
from yunying.insights.relative import resolve
from yunying.insights.trends import VALUE_MATHS, Math
from yunying.reports.charts import figure
from yunying.reports.labels import LABELS
from yunying.reports.tables import table as result_table
from yunying.store.dashboards import (
    SavedInsight,
    add_tile,
    dashboard,
    dashboards,
    delete_insight,
    insight,
    insights,
    save_insight,
)
from yunying.web.errors import ApiError
from yunying.web.i18n import Translator
from yunying.web.pages.common import data_end, range_choices, run, settings_of
from yunying.web.pages.framework import PageContext, Redirect, action, page

KINDS: tuple[str, ...] = ("trends", "funnel", "retention", "stickiness", "lifecycle", "paths")
MATHS: tuple[str, ...] = get_args(Math)
OPERATORS: tuple[str, ...] = get_args(FilterOperator)
INTERVALS: tuple[str, ...] = get_args(Interval)
PERIODS: tuple[str, ...] = get_args(Period)
NO_VALUE = {"is_set", "is_not_set"}
NUMERIC = {"gt", "gte", "lt", "lte"}
DIRECTIONS = ("after", "before")
DEFAULT_RANGE = "last_30d"
CUSTOM = "custom"
TABLE_ROWS = 500  # rows of the table shown under the chart (the export has them all)
NAME_LENGTH = 200
ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "UTC",
         "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles")
# Fields of one row of each table of the form (the first one must be set to keep the row).
ROWS: dict[str, tuple[str, ...]] = {
    "series": ("event", "math", "property"),
    "steps": ("event",),
    "filters": ("property", "scope", "operator", "value"),
}
PARAM_PREFIX = {"series": "series", "steps": "step", "filters": "filter"}
SCALARS = ("range", "date_from", "date_to", "timezone", "formula", "interval", "breakdown",
           "breakdown_limit", "window", "start_event", "return_event", "period", "periods", "event",
           "direction", "depth")
DEFAULT_BREAKDOWN_LIMIT = 25

Form = dict[str, Any]


# ----------------------------------------------------------------------------- form <-> document
def blank_form(kind: str) -> Form:
    """The form of ``kind`` with every field at its default and no rows."""
    return {
        "kind": kind, "range": DEFAULT_RANGE, "date_from": "", "date_to": "", "timezone": "",
        "series": [], "formula": "", "compare": False, "interval": "day", "breakdown": "",
        "breakdown_limit": str(DEFAULT_BREAKDOWN_LIMIT), "steps": [], "window": "14d",
        "start_event": ANY_EVENT, "return_event": ANY_EVENT, "period": "day", "periods": "7",
        "event": ANY_EVENT, "direction": "after", "depth": "5", "exclude_events": [], "filters": [],
    }


def form_from_params(params: Any, kind: str) -> Form:
    """The form as submitted (query parameters), rows added or removed as its buttons asked."""
    form = blank_form(kind)
    for name in SCALARS:
        if name in params:
            form[name] = params[name].strip()
    form["compare"] = params.get("compare", "") in ("1", "true", "on")
    form["exclude_events"] = [e.strip() for e in params.getlist("exclude_events") if e.strip()]
    for table, fields in ROWS.items():
        columns = [params.getlist(f"{PARAM_PREFIX[table]}_{f}") for f in fields]
        count = max((len(c) for c in columns), default=0)
        rows = [{f: (c[i].strip() if i < len(c) else "") for f, c in zip(fields, columns, strict=True)}
                for i in range(count)]
        form[table] = [r for r in rows if r[fields[0]]]
    removed = params.get("remove", "")
    table, _, index = removed.partition(".")
    if table in ROWS and index.isdigit() and int(index) < len(form[table]):
        _remove_row(form, table, int(index))
    added = params.get("add", "")
    if added in ROWS:
        form[added].append(_blank_row(added))
    return form


def _blank_row(table: str) -> dict[str, str]:
    row = dict.fromkeys(ROWS[table], "")
    if table == "series":
        row["math"] = "total"
    if table == "filters":
        row["operator"] = "eq"
    return row


def _remove_row(form: Form, table: str, index: int) -> None:
    """Drop a row; filters scoped to a removed series or step go too, later scopes move up."""
    del form[table][index]
    if table not in ("series", "steps"):
        return
    kept = []
    for row in form["filters"]:
        position = _scope_index(form["kind"], row["scope"])
        if position is None or position < index:
            kept.append(row)
        elif position > index:
            kept.append({**row, "scope": _scope_name(form["kind"], position - 1)})
    form["filters"] = kept


def _scope_name(kind: str, index: int) -> str:
    """The scope of series/step ``index``: a letter in trends (as formulas name series), else a number."""
    return chr(65 + index) if kind == "trends" else str(index + 1)


def _scope_index(kind: str, scope: str) -> int | None:
    if kind == "trends" and len(scope) == 1 and scope.isupper():
        return ord(scope) - 65
    if kind == "funnel" and scope.isdigit() and int(scope) >= 1:
        return int(scope) - 1
    return None


def _number(text: str) -> Any:
    """``text`` as an int or float when it is one, else as is (validation then names the field)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _filter_value(operator: str, text: str) -> Any:
    if operator in NO_VALUE:
        return None
    if operator in NUMERIC:
        return _number(text)
    if operator in ("eq", "neq") and text.startswith("["):
        try:
            values = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        return values if isinstance(values, list) else text
    return text


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    return str(value)


def document_from_form(form: Form, today: Callable[[], dt.date]) -> tuple[dict[str, Any], dict[str, int]]:
    """The query document of ``form``, and where each of its filters came from.

    ``today`` (the project's last day with data) resolves a preset range. The second value
    maps a filter's path in the document (``series.1.filters.0``) to its row in the form, so
    a validation error can be shown at the row. Raises InsightError for what the form can
    not express (a range that is no range, a filter on a series that does not exist).
    """
    kind = form["kind"]
    document: dict[str, Any] = {"kind": kind}
    spec = form["range"] or DEFAULT_RANGE
    if spec == CUSTOM:
        document["date_from"], document["date_to"] = form["date_from"], form["date_to"]
    else:
        try:
            start, end = resolve(spec, today())
        except ValueError as exc:
            raise InsightError(str(exc), field="range") from None
        document["date_from"], document["date_to"] = start.isoformat(), end.isoformat()
    if form["timezone"]:
        document["timezone"] = form["timezone"]

    # Filters by scope: "" (every event of the query) or one series / step / retention event.
    scoped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for row_index, row in enumerate(form["filters"]):
        if not row["property"]:
            continue  # a row just added and not filled in yet
        flt: dict[str, Any] = {"property": row["property"], "operator": row["operator"] or "eq"}
        value = _filter_value(flt["operator"], row["value"])
        if value is not None:
            flt["value"] = value
        scoped.setdefault(row["scope"], []).append((row_index, flt))
    origins: dict[str, int] = {}

    def place(scope: str, path: str) -> list[dict[str, Any]]:
        found = scoped.pop(scope, [])
        for i, (row_index, _) in enumerate(found):
            origins[f"{path}.{i}"] = row_index
        return [flt for _, flt in found]

    def put(target: dict[str, Any], key: str, scope: str, path: str) -> None:
        filters = place(scope, path)
        if filters:
            target[key] = filters

    if kind == "trends":
        series = []
        for i, row in enumerate(r for r in form["series"] if r["event"]):
            item: dict[str, Any] = {"event": row["event"], "math": row["math"] or "total"}
            if row["property"]:
                item["property"] = row["property"]
            put(item, "filters", _scope_name(kind, i), f"series.{i}.filters")
            series.append(item)
        document["series"] = series
        document["interval"] = form["interval"]
        if form["formula"]:
            document["formula"] = form["formula"]
        if form["compare"]:
            document["compare"] = True
        _breakdown(form, document)
    elif kind == "funnel":
        steps = []
        for i, row in enumerate(r for r in form["steps"] if r["event"]):
            step: dict[str, Any] = {"event": row["event"]}
            put(step, "filters", _scope_name(kind, i), f"steps.{i}.filters")
            steps.append(step)
        document["steps"] = steps
        document["window"] = form["window"]
        _breakdown(form, document)
    elif kind == "retention":
        document["start_event"] = form["start_event"]
        put(document, "start_filters", "start", "start_filters")
        document["return_event"] = form["return_event"]
        put(document, "return_filters", "return", "return_filters")
        document["period"] = form["period"]
        document["periods"] = _number(form["periods"])
    elif kind in ("stickiness", "lifecycle"):
        document["event"] = form["event"]
        document["interval"] = form["interval"]
    elif kind == "paths":
        document["event"] = form["event"]
        document["direction"] = form["direction"]
        document["steps"] = _number(form["depth"])
        if form["exclude_events"]:
            document["exclude_events"] = form["exclude_events"]
    put(document, "filters", "", "filters")
    if scoped:
        scope = next(iter(scoped))
        row_index = scoped[scope][0][0]
        raise InsightError(f"filter {row_index + 1} applies to {scope!r}, which this insight does not have",
                           field=f"filters.{row_index}.scope")
    return document, origins


def _breakdown(form: Form, document: dict[str, Any]) -> None:
    if form["breakdown"]:
        document["breakdown"] = form["breakdown"]
        limit = _number(form["breakdown_limit"]) if form["breakdown_limit"] else DEFAULT_BREAKDOWN_LIMIT
        if limit != DEFAULT_BREAKDOWN_LIMIT:
            document["breakdown_limit"] = limit


def form_from_document(document: dict[str, Any]) -> Form:
    """The form that shows ``document`` (a saved insight re-opened, a ``?q=`` link)."""
    kind = document.get("kind", "trends")
    form = blank_form(kind)
    form["range"] = CUSTOM
    form["date_from"] = str(document.get("date_from") or "")
    form["date_to"] = str(document.get("date_to") or "")
    form["timezone"] = document.get("timezone") or ""

    def take(filters: list[dict[str, Any]] | None, scope: str) -> None:
        for flt in filters or []:
            form["filters"].append({"scope": scope, "property": flt.get("property", ""),
                                    "operator": flt.get("operator", "eq"),
                                    "value": _value_text(flt.get("value"))})

    take(document.get("filters"), "")
    for i, item in enumerate(document.get("series") or []):
        form["series"].append({"event": item.get("event", ""), "math": item.get("math", "total"),
                               "property": item.get("property") or ""})
        take(item.get("filters"), _scope_name("trends", i))
    if kind == "funnel":
        for i, step in enumerate(document.get("steps") or []):
            form["steps"].append({"event": step.get("event", "")})
            take(step.get("filters"), _scope_name("funnel", i))
    if kind == "retention":
        take(document.get("start_filters"), "start")
        take(document.get("return_filters"), "return")
    if kind == "paths":
        form["depth"] = str(document.get("steps", form["depth"]))
        form["exclude_events"] = list(document.get("exclude_events") or [])
    for key in ("interval", "breakdown", "window", "start_event", "return_event", "period", "event",
                "direction", "formula"):
        if document.get(key) is not None:
            form[key] = str(document[key])
    for key in ("periods", "breakdown_limit"):
        if document.get(key) is not None:
            form[key] = str(document[key])
    form["compare"] = bool(document.get("compare"))
    return form


def default_form(kind: str, events: list[str], settings: dict[str, Any]) -> Form:
    """A new insight of ``kind`` that shows something at once on this project's data.

    Paths start on the last 7 days: they follow every user's events one by one, and a week
    of paths already shows the usual ways through the product.
    """
    form = blank_form(kind)
    top = events[0] if events else ANY_EVENT
    if kind == "trends":
        form["series"] = [{"event": ANY_EVENT, "math": "unique_users", "property": ""}]
    elif kind == "funnel":
        steps = settings.get("conversion_steps") or events[:2] or [ANY_EVENT]
        form["steps"] = [{"event": e} for e in steps]
        if settings.get("conversion_steps") and settings.get("conversion_window"):
            form["window"] = settings["conversion_window"]
    elif kind == "paths":
        form["event"] = top
        form["range"] = "last_7d"
    return form


def input_path(kind: str, field: str | None, origins: dict[str, int]) -> str | None:
    """The form input an error of the document at ``field`` belongs to (``filters.3.value``)."""
    if not field:
        return None
    if kind == "paths" and (field == "steps" or field.startswith("steps.")):
        return "depth"
    for path, row in origins.items():
        if field == path or field.startswith(path + "."):
            return f"filters.{row}" + field[len(path):]
    return field


# ----------------------------------------------------------------------------- pages
@functools.cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


class _TableTranslator(Translator):
    """The viewer's words and formats with the Babel locale parsed once, not once per number.

    ``Translator.babel`` parses the locale on every call (about 0.1 ms); a table of a few
    hundred numbers then costs tens of milliseconds to render. Same output, cached locale.
    """

    @property
    def babel(self) -> Locale:
        return _babel_locale(self.locale)


def _fast_numbers(pc: PageContext) -> None:
    if type(pc.viewer.t) is Translator:
        pc.viewer.t = _TableTranslator(pc.viewer.t.locale)


def _project_id(pc: PageContext) -> int:
    assert pc.project is not None
    return pc.project.project_id


def _read(pc: PageContext, work: Callable[[Any], Any]) -> Any:
    """``work(store)`` on a read cursor of the server (time limit included)."""
    return pc.state.reads.call(work)


def _local(pc: PageContext, utc_text: str) -> dt.datetime:
    """A stored UTC time (ISO text) as the project's local wall-clock time."""
    assert pc.project is not None
    utc = dt.datetime.fromisoformat(utc_text).replace(tzinfo=dt.UTC)
    return utc.astimezone(ZoneInfo(pc.project.timezone)).replace(tzinfo=None)


def _kind_choices(pc: PageContext) -> list[dict[str, str]]:
    return [{"kind": k, "label": pc.t(f"insights.kind.{k}"), "url": pc.url("/insights/new", kind=k)}
            for k in KINDS]


@page("/p/{project}/insights", "insights_list.html")
def insights_list(pc: PageContext) -> dict[str, Any]:
    """The project's saved insights, newest change first."""
    saved = insights(pc.state.meta, _project_id(pc))
    return {
        "insights": [{
            "insight_id": s.insight_id, "name": s.name, "kind": s.document.get("kind"),
            "updated_at": _local(pc, s.updated_at), "url": pc.url(f"/insights/{s.insight_id}"),
        } for s in saved],
        "kinds": _kind_choices(pc),
    }


@page("/p/{project}/insights/new", "insight_builder.html")
def new_insight(pc: PageContext) -> dict[str, Any]:
    kind = pc.params.get("kind") or "trends"
    if kind not in KINDS:
        raise ApiError(400, "bad_kind", pc.t("insights.error.kind", kinds=", ".join(KINDS)), "kind")
    return builder(pc, kind, None)


@page("/p/{project}/insights/{insight_id}", "insight_builder.html")
def saved_insight(pc: PageContext) -> dict[str, Any]:
    saved = insight(pc.state.meta, _project_id(pc), _path_id(pc))
    kind = saved.document.get("kind")
    if kind not in KINDS:
        raise ApiError(400, "bad_kind", pc.t("insights.error.kind", kinds=", ".join(KINDS)), "kind")
    return builder(pc, kind, saved)


def _path_id(pc: PageContext) -> int:
    text = pc.request.path_params.get("insight_id", "")
    if not text.isdigit():
        raise ApiError(404, "not_found", pc.t("insights.error.not_found"))
    return int(text)


Failure = dict[str, Any]  # {"message", "field"} of a document that cannot run


def _state(pc: PageContext, kind: str, saved: SavedInsight | None,
           events: list[str]) -> tuple[Form, dict[str, Any] | None, dict[str, int], Failure | None]:
    """(form, document, filter origins, failure) of the request.

    ``?q=`` (a document) wins; then a submitted form (``run=1``); then the saved insight;
    else a new insight of ``kind`` with defaults that show something on this project.
    """
    params = pc.params
    failure: Failure | None = None
    if params.get("q"):
        try:
            given = orjson.loads(params["q"])
        except orjson.JSONDecodeError as exc:
            return blank_form(kind), None, {}, {"message": pc.t("insights.error.json", detail=str(exc)),
                                                "field": "q"}
        if not isinstance(given, dict) or given.get("kind") not in KINDS:
            return blank_form(kind), None, {}, {
                "message": pc.t("insights.error.kind", kinds=", ".join(KINDS)), "field": "kind"}
        return form_from_document(given), given, {}, None
    if saved is not None and not params.get("run"):
        return form_from_document(saved.document), saved.document, {}, None
    if params.get("run"):
        form = form_from_params(params, kind)
    else:
        form = default_form(kind, events, settings_of(pc))
    document: dict[str, Any] | None = None
    origins: dict[str, int] = {}
    try:
        document, origins = document_from_form(form, lambda: data_end(pc))
    except InsightError as exc:
        failure = {"message": str(exc), "field": exc.field}
    if document is not None and form["range"] != CUSTOM:
        form["date_from"], form["date_to"] = document["date_from"], document["date_to"]
    return form, document, origins, failure


def builder(pc: PageContext, kind: str, saved: SavedInsight | None) -> dict[str, Any]:
    """The builder's data: the form, the document, and its chart and table (or what is wrong)."""
    assert pc.project is not None
    _fast_numbers(pc)
    project = pc.project
    events = _read(pc, lambda store: catalog.event_names(store, project))
    properties = _read(pc, lambda store: catalog.property_keys(store, project))
    form, document, origins, error = _state(pc, kind, saved, [name for name, _ in events])

    result = chart = shown = None
    if error is None and document is not None:
        try:
            parse_document(document)
            result = run(pc, document)
        except InsightError as exc:
            error = {"message": str(exc), "field": exc.field}
        except ApiError as exc:
            if exc.status != 504 or pc.is_api:
                raise
            error = {"message": exc.message, "field": None}  # the time limit: said at the form
    if error is not None:
        if pc.is_api:
            raise ApiError(400, "bad_query", error["message"], error["field"])
        error["input"] = input_path(form["kind"], error["field"], origins)
    if result is not None:
        labels = LABELS[pc.t.locale]
        chart = figure(result, labels)
        full = result_table(result, labels)
        shown = {"columns": full.columns, "rows": full.rows[:TABLE_ROWS],
                 "percent_columns": sorted(full.percent_columns), "total_rows": len(full.rows)}

    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() if document else ""
    compact = orjson.dumps(document).decode() if document else ""
    can_save = pc.viewer.can(project, "analyst")
    return {
        "kind": form["kind"], "kinds": _kind_choices(pc),
        "insight": None if saved is None else {"insight_id": saved.insight_id, "name": saved.name,
                                               "updated_at": _local(pc, saved.updated_at)},
        "form": form, "document": document, "document_json": compact,
        "document_text": text or pc.params.get("q", ""), "error": error,
        "result": None if result is None else result.to_json(), "chart": chart, "table": shown,
        "catalog": {"events": [{"name": n, "count": c} for n, c in events], "properties": properties,
                    "property_values": _row_values(pc, form)},
        "ranges": range_choices(pc), "zones": _zones(project.timezone),
        "choices": {"maths": MATHS, "value_maths": sorted(VALUE_MATHS), "operators": OPERATORS,
                    "intervals": INTERVALS, "periods": PERIODS, "directions": DIRECTIONS},
        "scopes": _scopes(pc, form),
        "dashboards": [{"dashboard_id": d.dashboard_id, "name": d.name}
                       for d in dashboards(pc.state.meta, project.project_id)] if can_save else [],
        "can_save": can_save,
        "links": {
            "self": pc.url("/insights/new", q=compact) if compact else None,
            "csv": pc.url("/export/insight.csv", q=compact) if compact and not error else None,
            "xlsx": pc.url("/export/insight.xlsx", q=compact) if compact and not error else None,
            "values": f"/api/v1/p/{project.name}/catalog/values",
        },
    }


def _zones(project_zone: str) -> list[str]:
    return list(dict.fromkeys([project_zone, *ZONES]))


def _scopes(pc: PageContext, form: Form) -> list[dict[str, str]]:
    """Where a filter row may apply: every event, or one series / step / retention event."""
    kind, t = form["kind"], pc.t
    scopes = [{"value": "", "label": t("insights.scope.all")}]
    if kind in ("trends", "funnel"):
        rows, word = (form["series"], "insights.scope.series") if kind == "trends" else \
            (form["steps"], "insights.scope.step")
        names = [_scope_name(kind, i) for i in range(len(rows))]
        scopes += [{"value": name, "label": t(word, name=name)} for name in names]
    elif kind == "retention":
        scopes += [{"value": "start", "label": t("insights.scope.start")},
                   {"value": "return", "label": t("insights.scope.return")}]
    return scopes


def _row_values(pc: PageContext, form: Form) -> dict[str, list[str]]:
    """Common values of the properties of the filter rows (datalists that need no script)."""
    assert pc.project is not None
    project = pc.project
    keys = list(dict.fromkeys(r["property"] for r in form["filters"] if r["property"]))[:10]

    def values(key: str) -> list[str]:
        return [v for v, _ in _read(pc, lambda store: catalog.property_values(store, project, key))]
    return {key: values(key) for key in keys}


# ----------------------------------------------------------------------------- save, delete
def _optional_id(value: Any, field: str, pc: PageContext) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ApiError(400, "bad_request", pc.t("insights.error.id", field=field), field)


@action("/p/{project}/insights/save", need="analyst")
def save(pc: PageContext) -> Redirect:
    """Save the document under a name (``insight_id``: overwrite it); ``dashboard_id``: also add a tile."""
    project_id = _project_id(pc)
    name = str(pc.form.get("name") or "").strip()
    if not name or len(name) > NAME_LENGTH:
        raise ApiError(400, "bad_name", pc.t("insights.error.name", length=NAME_LENGTH), "name")
    document = pc.form.get("document")
    if isinstance(document, str):
        try:
            document = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            message = pc.t("insights.error.json", detail=str(exc))
            raise ApiError(400, "bad_json", message, "document") from None
    if not isinstance(document, dict) or document.get("kind") not in KINDS:
        raise ApiError(400, "bad_kind", pc.t("insights.error.kind", kinds=", ".join(KINDS)), "document.kind")
    parse_document(document)
    insight_id = _optional_id(pc.form.get("insight_id"), "insight_id", pc)
    dashboard_id = _optional_id(pc.form.get("dashboard_id"), "dashboard_id", pc)
    if dashboard_id is not None:
        dashboard(pc.state.meta, project_id, dashboard_id)  # NotFound (404) before anything is saved
    account = pc.viewer.session.account.account_id if pc.viewer.session else None
    saved = save_insight(pc.state.meta, project_id, name, document, account, insight_id)
    if dashboard_id is not None:
        add_tile(pc.state.meta, project_id, dashboard_id, saved.insight_id)
    url = pc.url(f"/insights/{saved.insight_id}", done="saved")
    return Redirect(url, {"insight_id": saved.insight_id, "name": saved.name, "dashboard_id": dashboard_id,
                          "url": pc.url(f"/insights/{saved.insight_id}")})


@action("/p/{project}/insights/{insight_id}/delete", need="analyst")
def delete(pc: PageContext) -> Redirect:
    insight_id = _path_id(pc)
    delete_insight(pc.state.meta, _project_id(pc), insight_id)
    return Redirect(pc.url("/insights", done="deleted"), {"deleted": insight_id})


# ----------------------------------------------------------------------------- the catalog
def _event_param(pc: PageContext) -> str | None:
    event = (pc.params.get("event") or "").strip()
    return event if event and event != ANY_EVENT else None


@page("/p/{project}/catalog/events", "insight_catalog.html")
def catalog_events(pc: PageContext) -> dict[str, Any]:
    """Every event name the project has received, most frequent first."""
    project = pc.project
    names = _read(pc, lambda store: catalog.event_names(store, project))
    return {"what": "events", "events": [{"name": n, "count": c} for n, c in names]}


@page("/p/{project}/catalog/properties", "insight_catalog.html")
def catalog_properties(pc: PageContext) -> dict[str, Any]:
    """Property keys of a sample of the project's recent events (``?event=`` of one event)."""
    project, event = pc.project, _event_param(pc)
    keys = _read(pc, lambda store: catalog.property_keys(store, project, event))
    return {"what": "properties", "event": event, "properties": keys,
            "sample": catalog.SAMPLE_EVENTS}


@page("/p/{project}/catalog/values", "insight_catalog.html")
def catalog_values(pc: PageContext) -> dict[str, Any]:
    """Most common values of ``?key=`` in the sample (``?event=`` of one event)."""
    project, event = pc.project, _event_param(pc)
    key = (pc.params.get("key") or "").strip()
    if not key or len(key) > 400:
        raise ApiError(400, "bad_request", pc.t("insights.error.key"), "key")
    limit_text = pc.params.get("limit") or "50"
    limit = min(int(limit_text), 500) if limit_text.isdigit() and int(limit_text) > 0 else 50
    values = _read(pc, lambda store: catalog.property_values(store, project, key, event, limit))
    return {"what": "values", "event": event, "key": key, "sample": catalog.SAMPLE_EVENTS,
            "values": [{"value": v, "count": c} for v, c in values]}
