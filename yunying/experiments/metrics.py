"""From the project's events to one sufficient statistic per metric and arm (and breakdown group).

Three steps, each in its own module: who is exposed when and where (``exposure.py``), every
metric's per-user totals from one read of the events (``metric_values.py``), and the sums per
arm (``summaries.py``). Definitions: docs/experiments.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from yunying.experiments.definition import Experiment, ExperimentError, parse_experiment
from yunying.experiments.exposure import Exposures, exposures, with_person_breakdown
from yunying.experiments.metric_values import PartValues, metric_parts, part_values
from yunying.experiments.periods import Periods, periods
from yunying.experiments.summaries import Cells, metric_statistics
from yunying.insights.base import QueryContext
from yunying.stats import Statistic

OTHER = "$other"
BreakdownType = Literal["event", "person"]
BREAKDOWN_TYPES: tuple[str, ...] = get_args(BreakdownType)


@dataclass(frozen=True)
class GroupData:
    """The users of one group (all of them, or one breakdown value): per arm, in variant order."""

    value: str | None
    users: tuple[int, ...]
    statistics: dict[str, tuple[Statistic, ...]]  # metric key -> one statistic per arm


@dataclass(frozen=True)
class ExperimentData:
    """Everything the statistics engine needs about one experiment's data."""

    periods: Periods
    overall: GroupData
    breakdown: str | None
    groups: tuple[GroupData, ...]  # by breakdown value (empty without a breakdown)
    excluded_users: int  # exposed to more than one variant
    first_exposure: dt.datetime | None  # naive UTC
    last_exposure: dt.datetime | None
    caps: dict[str, float]  # metric key -> the cap applied to its per-user values
    breakdown_type: BreakdownType = "event"


def _instant(micros: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(micros))


def _fold(users: Exposures, limit: int) -> tuple[np.ndarray, list[str | None]]:
    """Breakdown group of every user: the ``limit`` largest values (by included users; ties by
    value, null last), every other value folded into ``$other``."""
    group = users.group
    values = users.group_values
    sizes = np.bincount(group[users.included], minlength=len(values))
    ranked = sorted((g for g in range(len(values)) if sizes[g]),
                    key=lambda g: (-sizes[g], values[g] is None, values[g] or ""))
    kept, folded = ranked[:limit], ranked[limit:]
    mapping = np.full(len(values), len(kept), np.int64)
    mapping[kept] = np.arange(len(kept))
    names = [values[g] for g in kept] + ([OTHER] if folded else [])
    return mapping[group], names


def _groups(experiment: Experiment, values: PartValues, users: Exposures, group: np.ndarray,
            names: list[str | None], caps: dict[str, float]) -> list[GroupData]:
    arms = len(experiment.variants)
    size = len(names) * arms
    cells = Cells(values.per_row(np.where(users.included, group * arms + users.arm, size), size),
                  len(names), arms)
    counts = cells.counts()
    per_metric = {}
    for _, metric in experiment.metrics.all():
        result = metric_statistics(metric, values, cells, experiment.analysis.cuped)
        per_metric[metric.key] = result.cells
        if result.cap is not None:
            caps[metric.key] = result.cap
    return [GroupData(name, tuple(int(c) for c in counts[g * arms:(g + 1) * arms]),
                      {key: tuple(stats[g * arms:(g + 1) * arms]) for key, stats in per_metric.items()})
            for g, name in enumerate(names)]


def experiment_data(ctx: QueryContext, experiment: Experiment | dict, *, breakdown: str | None = None,
                    breakdown_type: BreakdownType = "event", breakdown_limit: int = 20,
                    end: dt.date | None = None) -> ExperimentData:
    """Per arm, one statistic per metric of ``experiment`` over the project's events.

    ``breakdown``: a property of the exposure event (the user's first; ``breakdown_type``
    "event") or of the user's profile as it is now ("person"), giving the same numbers per value
    (the ``breakdown_limit`` largest groups, the rest as ``$other``). ``end``: the data end to
    use for an experiment without an end date (default: read from the store).
    """
    experiment = parse_experiment(experiment)
    if breakdown_type not in BREAKDOWN_TYPES:
        raise ExperimentError(f"breakdown_type must be one of {', '.join(BREAKDOWN_TYPES)}", "breakdown_type")
    spans = periods(ctx, experiment, end)
    users = exposures(ctx, experiment, spans, breakdown if breakdown_type == "event" else None)
    if breakdown and breakdown_type == "person":
        users = with_person_breakdown(ctx, users, breakdown)
    parts = [p for _, m in experiment.metrics.all() for p in metric_parts(m)]
    values = part_values(ctx, parts, spans, users)
    caps: dict[str, float] = {}
    overall = _groups(experiment, values, users, np.zeros(users.arm.size, np.int64), [None], caps)[0]
    groups: list[GroupData] = []
    if breakdown:
        group, names = _fold(users, breakdown_limit)
        groups = _groups(experiment, values, users, group, names, {})
    exposed = users.exposed_us[users.included]
    return ExperimentData(
        periods=spans, overall=overall, breakdown=breakdown, groups=tuple(groups),
        excluded_users=users.excluded_users,
        first_exposure=_instant(exposed.min()) if exposed.size else None,
        last_exposure=_instant(exposed.max()) if exposed.size else None,
        caps=caps, breakdown_type=breakdown_type,
    )
