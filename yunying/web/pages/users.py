"""The users pages (用户): persons by recent activity or by search, and one person in full.

    GET /p/<project>/users?q=<distinct_id or its start>&key=<property>&value=<v>&before=<cursor>
    GET /p/<project>/users/<person_id>?before=<cursor of the timeline>

A user is a person (docs/metrics.md "Users", "Persons"): every distinct_id it was seen with,
its profile properties, and its events. A person of another project is not found (404).
"""

from __future__ import annotations

import html
from typing import Any

from yunying.people.lookup import (
    PersonCursor,
    PersonDetail,
    PersonSummary,
    person_detail,
    recent_persons,
    search_persons,
    timeline,
)
from yunying.reports.charts import GRID, PALETTE, layout
from yunying.reports.labels import LABELS
from yunying.web.errors import ApiError
from yunying.web.pages.events import (
    cursor_param,
    event_row,
    link,
    local_time,
    person_url,
    pick_properties,
    utc_text,
    value_text,
)
from yunying.web.pages.framework import PageContext, page

# Profile properties shown first in a list of persons, when present.
KEY_PROFILE = ("name", "$name", "email", "$email", "phone", "city", "$city", "plan")
SHOWN_PROFILE = 3


def _summary(pc: PageContext, person: PersonSummary) -> dict[str, Any]:
    return {
        "person_id": person.person_id, "url": person_url(pc, person.person_id),
        "is_identified": person.is_identified, "distinct_ids": person.distinct_ids,
        "distinct_id_count": person.distinct_id_count,
        "first_seen": local_time(pc, person.first_seen), "last_seen": local_time(pc, person.last_seen),
        "event_count": person.event_count,
        "properties": pick_properties(person.properties, KEY_PROFILE, SHOWN_PROFILE),
    }


@page("/p/{project}/users", "users.html")
def users(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    project, params = pc.project, pc.params
    q = (params.get("q") or "").strip()
    key = (params.get("key") or "").strip()
    value = params.get("value") or ""
    if key and not value:
        raise ApiError(400, "bad_search", pc.t("explore.users.value_needed", name=key), "value")
    before_text = params.get("before")
    before = None
    if before_text:
        try:
            before = PersonCursor.decode(before_text)
        except ValueError:
            raise ApiError(400, "bad_cursor", pc.t("explore.bad_cursor"), "before") from None
    searching = bool(q or key)
    if searching:
        found = pc.state.reads.call(lambda reader: search_persons(
            reader, project, distinct_id=q or None, property_key=key or None,
            property_value=value if key else None))
    else:
        found = pc.state.reads.call(lambda reader: recent_persons(reader, project, before))
    return {
        "search": {"q": q, "key": key, "value": value if key else ""},
        "mode": "search" if searching else "recent",
        "persons": [_summary(pc, p) for p in found.persons],
        "truncated": found.truncated,
        "next": found.next.encode() if found.next else None,
        "next_url": link(pc, "/users", [("before", found.next.encode())]) if found.next else None,
        "newest_url": pc.url("/users") if before else None,
        "timezone": project.timezone,
    }


def activity_figure(pc: PageContext, detail: PersonDetail) -> dict[str, Any]:
    """Events per day over the person's last 30 days with data, as a Plotly bar chart."""
    labels = LABELS.get(pc.t.locale) or LABELS["en"]
    name = html.escape(pc.t("explore.user.events_per_day"), quote=False)  # plotly reads tags in text
    trace = {"type": "bar", "name": name, "x": [d.date.isoformat() for d in detail.activity],
             "y": [d.count for d in detail.activity], "marker": {"color": PALETTE[0]},
             "hovertemplate": f"%{{x}}<br>{name}: %{{y:,}}<extra></extra>"}
    grid = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True}
    dates = {"type": "date", "tickformat": labels.date_ticks, "hoverformat": labels.date_hover}
    return {"data": [trace], "layout": layout(
        labels, showlegend=False, bargap=0.25, xaxis={**grid, **dates},
        yaxis={**grid, "title": {"text": name}, "rangemode": "tozero", "tickformat": ",d"})}


@page("/p/{project}/users/{person_id}", "user.html")
def user(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    project = pc.project
    text = pc.request.path_params["person_id"]
    if not text.isdigit() or len(text) > 18:
        raise ApiError(404, "not_found", pc.t("explore.user.not_found"))
    person_id = int(text)
    before = cursor_param(pc)

    def work(reader: Any) -> tuple[PersonDetail | None, Any]:
        detail = person_detail(reader, project, person_id)
        return (detail, timeline(reader, project, person_id, before)) if detail else (None, None)

    detail, events = pc.state.reads.call(work)
    if detail is None:
        raise ApiError(404, "not_found", pc.t("explore.user.not_found"))
    here = f"/users/{person_id}"
    return {
        "person": {
            "person_id": detail.person_id, "is_identified": detail.is_identified,
            "properties": detail.properties, "distinct_ids": detail.distinct_ids,
            "distinct_id_count": detail.distinct_id_count,
            "first_seen": local_time(pc, detail.first_seen), "last_seen": local_time(pc, detail.last_seen),
            "first_seen_utc": utc_text(detail.first_seen), "last_seen_utc": utc_text(detail.last_seen),
            "event_count": detail.event_count,
            "totals": [{"event": t.event, "count": t.count, "first": local_time(pc, t.first),
                        "last": local_time(pc, t.last)} for t in detail.totals],
            "activity": [{"date": d.date.isoformat(), "count": d.count} for d in detail.activity],
        },
        "profile": [[k, value_text(v)] for k, v in detail.properties.items()],
        "chart": activity_figure(pc, detail) if detail.activity else None,
        "timeline": [event_row(pc, e) for e in events.events],
        "next": events.next.encode() if events.next else None,
        "next_url": link(pc, here, [("before", events.next.encode())]) if events.next else None,
        "newest_url": pc.url(here) if before else None,
        "events_url": link(pc, "/events", [("person", str(person_id))]),
        "timezone": project.timezone,
    }
