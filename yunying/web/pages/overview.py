"""The overview dashboard: DAU/WAU/MAU, new users, revenue, conversion, retention vs. before."""

from __future__ import annotations

import logging
from typing import Any

from yunying.insights.catalog import event_names
from yunying.insights.overview import OverviewResult
from yunying.insights.relative import resolve
from yunying.reports.charts import figure
from yunying.reports.labels import LABELS
from yunying.store.dashboards import project_settings
from yunying.web.pages.common import date_range, project_data_end, range_choices, run, settings_of
from yunying.web.pages.framework import PageContext, page

log = logging.getLogger("yunying.web")
DEFAULT_RANGE = "last_7d"


def overview_document(settings: dict[str, Any], date_from: Any, date_to: Any) -> dict[str, Any]:
    """The overview query of a project: its dates plus what its settings say is revenue/conversion."""
    document: dict[str, Any] = {"kind": "overview", "date_from": date_from.isoformat(),
                                "date_to": date_to.isoformat()}
    if settings.get("revenue_event") and settings.get("revenue_property"):
        document["revenue"] = {"event": settings["revenue_event"], "property": settings["revenue_property"]}
    steps = settings.get("conversion_steps") or []
    if len(steps) >= 2:
        document["conversion"] = {"steps": steps, "window": settings.get("conversion_window") or "1d"}
    return document


@page("/p/{project}/", "overview.html")
def overview(pc: PageContext) -> dict[str, Any]:
    spec, date_from, date_to = date_range(pc, default=DEFAULT_RANGE)
    result = run(pc, overview_document(settings_of(pc), date_from, date_to))
    assert isinstance(result, OverviewResult)
    return {
        "range": spec, "ranges": range_choices(pc), "result": result.to_json(),
        "currency": settings_of(pc).get("currency") or "CNY",
        "chart": figure(result.daily_active, LABELS[pc.t.locale]),
    }


def warm_up(state: Any) -> None:
    """Run in the background when the server starts, so the first visitor does not wait:
    every project's default overview is computed, and one funnel and one paths query load
    the compiled per-user passes (numba loads them on first use: 0.5-1.5 s each)."""
    kernels_loaded = False
    for project in state.projects():
        try:
            end = project_data_end(state, project)
            start, end = resolve(DEFAULT_RANGE, end)
            state.reads.result(project, overview_document(
                project_settings(state.meta, project.project_id), start, end))
            if not kernels_loaded:
                kernels_loaded = _load_kernels(state, project, end)
        except Exception:  # a warm-up that fails costs nothing; the page will say what is wrong
            log.exception("warming up project %s failed", project.name)


def _load_kernels(state: Any, project: Any, day: Any) -> bool:
    """One-day funnel and paths queries on the project's most frequent event; False without events."""
    names = state.reads.call(lambda reader: event_names(reader, project))
    if not names:
        return False
    event, span = names[0][0], {"date_from": day.isoformat(), "date_to": day.isoformat()}
    state.reads.result(project, {"kind": "funnel", "steps": [{"event": event}, {"event": event}], **span})
    state.reads.result(project, {"kind": "paths", "event": event, "steps": 2, **span})
    return True
