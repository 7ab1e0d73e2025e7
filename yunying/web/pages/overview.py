"""The overview dashboard: DAU/WAU/MAU, new users, revenue, conversion, retention vs. before."""

from __future__ import annotations

from typing import Any

from yunying.insights.overview import OverviewResult
from yunying.reports.charts import figure
from yunying.reports.labels import LABELS
from yunying.web.pages.common import date_range, range_choices, run, settings_of
from yunying.web.pages.framework import PageContext, page


def overview_document(pc: PageContext, date_from: Any, date_to: Any) -> dict[str, Any]:
    """The overview query of the project: its dates plus what its settings say is revenue/conversion."""
    settings = settings_of(pc)
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
    spec, date_from, date_to = date_range(pc, default="last_7d")
    result = run(pc, overview_document(pc, date_from, date_to))
    assert isinstance(result, OverviewResult)
    return {
        "range": spec, "ranges": range_choices(pc), "result": result.to_json(),
        "currency": settings_of(pc).get("currency") or "CNY",
        "chart": figure(result.daily_active, LABELS[pc.t.locale]),
    }
