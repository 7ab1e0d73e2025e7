"""The experiment's dates and its pre-period, as local date ranges of the project's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from yunying.experiments.definition import CUPED_KINDS, Experiment
from yunying.insights.base import QueryContext
from yunying.insights.daterange import DateRange


@dataclass(frozen=True)
class Periods:
    """``dates``: start … end (or the data end), both included; ``pre``: the ``pre_period_days``
    local dates before start, when some metric takes a CUPED covariate."""

    dates: DateRange
    pre: DateRange | None

    @property
    def timezone(self) -> str:
        return self.dates.timezone


def data_end(ctx: QueryContext) -> dt.date:
    """The project's last day: its local today, or the local date of its latest event if earlier."""
    zone = ZoneInfo(ctx.project.timezone)
    today = dt.datetime.now(zone).date()
    last = ctx.events().timestamp.max().to_pyarrow().as_py()
    if last is None:
        return today
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return min(today, last.astimezone(zone).date())


def periods(ctx: QueryContext, experiment: Experiment, end: dt.date | None = None) -> Periods:
    """The dates an analysis reads. ``end`` stands for the data end of an experiment without an
    end date (read from the store when not given); an end before the start reads the start day."""
    last = experiment.end or end or data_end(ctx)
    dates = DateRange(experiment.start, max(last, experiment.start), ctx.project.timezone)
    pre = None
    settings = experiment.analysis
    if settings.cuped and any(m.kind in CUPED_KINDS for _, m in experiment.metrics.all()):
        pre = DateRange(experiment.start - dt.timedelta(days=settings.pre_period_days),
                        experiment.start - dt.timedelta(days=1), ctx.project.timezone)
    return Periods(dates, pre)
