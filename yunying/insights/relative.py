"""Date ranges relative to a day: ``last_7d``, ``this_month`` … and fixed ``2026-10-01..2026-10-31``.

Dashboards store one of these and apply it to every tile. ``resolve(spec, today)`` turns it
into an inclusive (date_from, date_to) pair of local dates; ``today`` is the project's
local date (see ``data_end`` in the workbench: the last day with events when a project
has received nothing since).
"""

from __future__ import annotations

import datetime as dt
import re

# preset -> number of days ending today (inclusive); months are handled apart.
_LAST_DAYS = {"last_7d": 7, "last_14d": 14, "last_30d": 30, "last_90d": 90, "last_180d": 180}
PRESETS: tuple[str, ...] = (*_LAST_DAYS, "this_month", "last_month")
_FIXED = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})")


def resolve(spec: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive local date range ``spec`` means on ``today``; ValueError for an unknown spec."""
    if spec in _LAST_DAYS:
        return today - dt.timedelta(days=_LAST_DAYS[spec] - 1), today
    if spec == "this_month":
        return today.replace(day=1), today
    if spec == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    match = _FIXED.fullmatch(spec)
    if match:
        start, end = (dt.date.fromisoformat(g) for g in match.groups())
        if start > end:
            raise ValueError(f"date range {spec!r} ends before it starts")
        return start, end
    raise ValueError(f"date range {spec!r} must be one of {', '.join(PRESETS)} or 'YYYY-MM-DD..YYYY-MM-DD'")


def fixed(date_from: dt.date, date_to: dt.date) -> str:
    """The spec of a fixed range."""
    return f"{date_from.isoformat()}..{date_to.isoformat()}"


def previous(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The range of the same length that ends the day before ``date_from``."""
    days = (date_to - date_from).days + 1
    return date_from - dt.timedelta(days=days), date_from - dt.timedelta(days=1)
