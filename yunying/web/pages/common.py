"""What several pages share: the date range of a request, the project's last day, queries."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from yunying.insights import Result
from yunying.insights.relative import PRESETS, fixed, resolve
from yunying.store import Project
from yunying.store.dashboards import project_settings
from yunying.web.pages.framework import PageContext


def data_end(pc: PageContext) -> dt.date:
    """The project's 'today': its local today, or the last local day with events if earlier.

    Imported history (and the demo) ends in the past; ranges like 'last 7 days' then end on
    the last day that has data instead of showing empty days.
    """
    assert pc.project is not None
    return project_data_end(pc.state, pc.project)


def project_data_end(state: Any, project: Project) -> dt.date:
    """:func:`data_end` for ``project`` of the app ``state`` (its latest event is read once per
    change of its data)."""
    zone = ZoneInfo(project.timezone)
    today = dt.datetime.now(zone).date()
    version = state.stats.data_version(project.project_id)
    known = state.last_event.get(project.project_id)
    if known is None or known[0] != version:
        last = state.reads.call(lambda reader: reader.events(project).timestamp.max().to_pyarrow().as_py())
        known = (version, last)
        state.last_event[project.project_id] = known
    if known[1] is None:
        return today
    return min(today, known[1].replace(tzinfo=dt.UTC).astimezone(zone).date())


def date_range(pc: PageContext, default: str = "last_30d") -> tuple[str, dt.date, dt.date]:
    """(spec, date_from, date_to) from ``?range=`` or ``?date_from=&date_to=``, else ``default``."""
    params = pc.params
    if params.get("date_from") and params.get("date_to"):
        start, end = dt.date.fromisoformat(params["date_from"]), dt.date.fromisoformat(params["date_to"])
        spec = fixed(start, end)
    else:
        spec = params.get("range") or default
    start, end = resolve(spec, data_end(pc))
    return spec, start, end


def range_choices(pc: PageContext) -> list[dict[str, str]]:
    """The presets for a date-range picker, in the viewer's language."""
    return [{"value": p, "label": pc.t(f"range.{p}")} for p in PRESETS]


def run(pc: PageContext, document: dict[str, Any]) -> Result:
    """Run a query document on the page's project (read pool: time limit, own cursor)."""
    assert pc.project is not None
    return pc.state.reads.result(pc.project, document)


def settings_of(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    return project_settings(pc.state.meta, pc.project.project_id)
