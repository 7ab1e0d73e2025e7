"""The overview dashboard: DAU/WAU/MAU, new users, revenue, conversion, retention vs. before."""

from __future__ import annotations

import logging
from typing import Any

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


def warm_overviews(state: Any) -> None:
    """Compute every project's default overview once (run in the background at server start),
    so the first person to open the workbench finds it ready."""
    for project in state.projects():
        try:
            end = project_data_end(state, project)
            start, end = resolve(DEFAULT_RANGE, end)
            state.reads.result(project, overview_document(
                project_settings(state.meta, project.project_id), start, end))
        except Exception:  # a warm-up that fails costs nothing; the page will say what is wrong
            log.exception("warming the overview of project %s failed", project.name)
