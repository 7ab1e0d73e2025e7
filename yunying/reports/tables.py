"""The human table of an insight result: what is shown under its chart and exported.

Cells are Python values, never preformatted text: ``int``/``float`` numbers, ``datetime.date``
(``datetime.datetime`` for hourly buckets), ``str`` and ``None`` (an empty cell). Rates are
fractions (0.25, not 25) and their columns are listed in :attr:`Table.percent_columns`, so
each exporter formats them as percentages its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from yunying.insights.base import Result
from yunying.insights.funnel import FunnelResult, FunnelStepResult
from yunying.insights.lifecycle import LifecycleResult
from yunying.insights.paths import PathsResult
from yunying.insights.retention import RetentionResult
from yunying.insights.stickiness import StickinessResult
from yunying.insights.trends import TrendsResult, TrendsSeriesResult
from yunying.reports.labels import ChartLabels
from yunying.reports.naming import bucket_value, series_names, split_compare

COUNT_MATHS = {"total", "unique_users"}


@dataclass(frozen=True)
class Table:
    """A header and rows of equal width; ``percent_columns`` are the indexes of rate columns."""

    columns: list[str]
    rows: list[list[Any]]
    percent_columns: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        width = len(self.columns)
        if any(len(row) != width for row in self.rows):
            raise ValueError(f"every row of a table needs {width} cells")
        if any(not 0 <= i < width for i in self.percent_columns):
            raise ValueError("percent_columns must index columns")


TableBuilder = Callable[[Any, ChartLabels], Table]


def table(result: Result, labels: ChartLabels | None = None) -> Table:
    """The table of ``result`` with headers in ``labels``' language (default English).

    Shapes: trends — a row per bucket, a column per series (previous-period series after the
    current ones, with their own dates in a second date column); funnel — step, event, users,
    conversion from first and from previous, median seconds to convert (with breakdowns, a
    leading breakdown column: all users first, then each value); retention — cohort, size,
    rates of period 0..N (blank where the period is not reported or the cohort is empty);
    stickiness — active buckets, users, share; lifecycle — date and the four states (dormant
    negative); paths — depth, source, target, users. Raises ValueError for other kinds.
    """
    builder = TABLES.get(result.kind)
    if builder is None:
        raise ValueError(f"no table for kind {result.kind!r}; known kinds: {', '.join(sorted(TABLES))}")
    return builder(result, labels or ChartLabels.english())


def _column(values: Sequence[Any], i: int) -> Any:
    return values[i] if i < len(values) else None


def _trend_value(series: TrendsSeriesResult, value: float | None) -> float | int | None:
    """Counts as ints (trends reports every number as a float), other maths as they are."""
    if value is not None and series.math in COUNT_MATHS and float(value).is_integer():
        return int(value)
    return value


def trends_table(result: TrendsResult, labels: ChartLabels) -> Table:
    """Rows per bucket: date (and previous-period date), then one column per series."""
    current, previous = split_compare(result)
    ordered = current + previous
    names = series_names(result, labels)
    date_columns = [labels.date] + ([labels.previous_name.format(name=labels.date)] if previous else [])
    calendars = [s.dates for s in (current[:1] + previous[:1])]
    height = max((len(s.dates) for s in ordered), default=0)
    rows = [
        [*(_bucket(_column(dates, i)) for dates in calendars),
         *(_trend_value(s, _column(s.values, i)) for s in ordered)]
        for i in range(height)
    ]
    columns = date_columns + [names[(s.label, s.breakdown_value, s.compare)] for s in ordered]
    return Table(columns, rows)


def _bucket(label: str | None) -> Any:
    return None if label is None else bucket_value(label)


def _step_row(step: FunnelStepResult, labels: ChartLabels) -> list[Any]:
    return [step.step, labels.event_name(step.event), step.count, step.conversion_from_first,
            step.conversion_from_previous, step.median_seconds_to_convert]


def funnel_table(result: FunnelResult, labels: ChartLabels) -> Table:
    """Step, event, users, both conversions, median seconds; a breakdown column first if any."""
    columns = [labels.step, labels.event, labels.users, labels.conversion_from_first,
               labels.conversion_from_previous, labels.median_time]
    if not result.breakdowns:
        return Table(columns, [_step_row(s, labels) for s in result.steps], frozenset({3, 4}))
    groups = [(labels.all_users, result.steps)] + [
        (labels.breakdown_name(b.breakdown_value), b.steps) for b in result.breakdowns]
    rows = [[name, *_step_row(s, labels)] for name, steps in groups for s in steps]
    return Table([labels.breakdown, *columns], rows, frozenset({4, 5}))


def retention_table(result: RetentionResult, labels: ChartLabels) -> Table:
    """Cohort date, cohort size, then the retained fraction of each period."""
    width = max((len(c.values) for c in result.cohorts), default=0)
    periods = [labels.period_label(result.period, i) for i in range(width)]
    columns = [labels.cohort, labels.cohort_size, *periods]
    rows = [
        [bucket_value(c.cohort), c.size,
         *(c.values[i] / c.size if c.size and i < len(c.values) else None for i in range(width))]
        for c in result.cohorts
    ]
    return Table(columns, rows, frozenset(range(2, 2 + width)))


def stickiness_table(result: StickinessResult, labels: ChartLabels) -> Table:
    """Active buckets, users, share of all users active at least once."""
    total = sum(r.users for r in result.stickiness)
    rows = [[r.buckets_active, r.users, r.users / total if total else 0.0] for r in result.stickiness]
    return Table([labels.active_label(result.interval), labels.users, labels.share], rows, frozenset({2}))


def lifecycle_table(result: LifecycleResult, labels: ChartLabels) -> Table:
    """Date, then new, returning, resurrecting and dormant (negative) users."""
    states = ("new", "returning", "resurrecting", "dormant")
    rows = [[bucket_value(b.date), *(getattr(b, s) for s in states)] for b in result.buckets]
    return Table([labels.date, *(getattr(labels, s) for s in states)], rows)


def paths_table(result: PathsResult, labels: ChartLabels) -> Table:
    """One row per link: depth, source event, target event, users."""
    rows = [[link.depth, link.source, link.target, link.users] for link in result.links]
    return Table([labels.depth, labels.source, labels.target, labels.users], rows)


TABLES: dict[str, TableBuilder] = {
    "trends": trends_table,
    "funnel": funnel_table,
    "retention": retention_table,
    "stickiness": stickiness_table,
    "lifecycle": lifecycle_table,
    "paths": paths_table,
}

__all__ = ["TABLES", "Table", "table"]
