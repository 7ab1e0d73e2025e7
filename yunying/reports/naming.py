"""What charts and tables both derive from a result: bucket dates and trends series names."""

from __future__ import annotations

import datetime as dt

from yunying.insights.trends import TrendsResult, TrendsSeriesResult
from yunying.reports.labels import ChartLabels

SeriesKey = tuple[str, str | None]  # (label, breakdown value): a current series and its previous one


def bucket_value(label: str) -> dt.date | dt.datetime:
    """A bucket label as a date (``YYYY-MM-DD``) or a datetime (``YYYY-MM-DD HH:00``)."""
    if len(label) == 10:
        return dt.date.fromisoformat(label)
    return dt.datetime.fromisoformat(label)


def bucket_label(value: dt.date | dt.datetime) -> str:
    """The inverse of :func:`bucket_value`."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def series_key(series: TrendsSeriesResult) -> SeriesKey:
    return series.label, series.breakdown_value


def split_compare(result: TrendsResult) -> tuple[list[TrendsSeriesResult], list[TrendsSeriesResult]]:
    """(current series, previous-period series), each in the result's order."""
    current = [s for s in result.series if s.compare == "current"]
    return current, [s for s in result.series if s.compare == "previous"]


def series_names(result: TrendsResult, labels: ChartLabels) -> dict[tuple[str, str | None, str], str]:
    """The shown name of every series, keyed on (label, breakdown value, compare).

    A series is named by its event and math ("$pageview · Unique users"), a formula by its
    text; the letter leads when there are several series, the breakdown value follows, and a
    previous-period series is ``labels.previous_name`` of its current name.
    """
    with_letter = len({s.label for s in result.series}) > 1
    with_breakdown = any(s.breakdown_value is not None for s in result.series)
    names: dict[tuple[str, str | None, str], str] = {}
    for s in result.series:
        if s.math == "formula":
            parts = [s.label]
        else:
            parts = [s.label] if with_letter else []
            parts += [labels.event_name(s.event), labels.math_name(s.math)]
        if with_breakdown:
            parts.append(labels.breakdown_name(s.breakdown_value))
        name = " · ".join(parts)
        if s.compare == "previous":
            name = labels.previous_name.format(name=name)
        names[(s.label, s.breakdown_value, s.compare)] = name
    return names


def previous_dates(previous: TrendsSeriesResult, current: TrendsSeriesResult | None) -> list[str]:
    """Where a previous-period series is drawn: on its current series' buckets, one to one.

    When the two have different numbers of buckets (weeks or months cut differently), its own
    buckets are shifted by the distance between the two first buckets instead.
    """
    if current is None or not previous.dates or not current.dates:
        return list(previous.dates)
    if len(current.dates) == len(previous.dates):
        return list(current.dates)
    first_now, first_before = bucket_value(current.dates[0]), bucket_value(previous.dates[0])
    shift = _as_datetime(first_now) - _as_datetime(first_before)
    shifted = [bucket_value(d) + shift for d in previous.dates]
    return [bucket_label(d) for d in shifted]


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
