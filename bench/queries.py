"""The three insights, once as a yunying query document and once as ClickHouse SQL.

Both sides follow docs/metrics.md: Asia/Shanghai local days, an inclusive local date range,
weeks starting on Monday, users = persons (in ClickHouse ``distinct_id``; in these stores
every distinct_id is its own person). Each query also has a *canonical* form of its result,
plain Python values that two engines' answers are compared with (exactly).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

FUNNEL_STEPS = ("app_open", "view_product", "add_to_cart", "checkout", "pay")
FUNNEL_WINDOW_DAYS = 7
RETENTION_PERIODS = 8
TREND_EVENT = "app_open"
TREND_BREAKDOWN = "channel"  # materialised by both stores (yunying mat_channel, CH mat_channel)
QUERY_NAMES = ("trend", "funnel", "retention")
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Window:
    """The query range: inclusive local dates in ``timezone``; ClickHouse's project id."""

    date_from: str
    date_to: str
    timezone: str
    project_id: int = 1

    def week_index(self, day: str) -> int:
        """yunying's week bucket index: Mondays since 1969-12-29 (docs: 'Buckets')."""
        return ((dt.date.fromisoformat(day) - _EPOCH).days + 3) // 7

    @property
    def first_week(self) -> int:
        return self.week_index(self.date_from)

    @property
    def last_week(self) -> int:
        return self.week_index(self.date_to)

    def monday_of(self, week: int) -> str:
        return (_EPOCH + dt.timedelta(days=week * 7 - 3)).isoformat()

    def document(self, **fields: Any) -> dict[str, Any]:
        return {**fields, "date_from": self.date_from, "date_to": self.date_to,
                "timezone": self.timezone}

    def ch_where(self) -> str:
        """Project and exact local-date range as UTC instants (prunes on the sort key)."""
        end = dt.date.fromisoformat(self.date_to) + dt.timedelta(days=1)
        tz = self.timezone
        return (f"project_id = {self.project_id}"
                f" AND timestamp >= toDateTime64('{self.date_from} 00:00:00', 6, '{tz}')"
                f" AND timestamp < toDateTime64('{end.isoformat()} 00:00:00', 6, '{tz}')")


# ------------------------------------------------------------------------------ documents
def trend_document(w: Window) -> dict[str, Any]:
    return w.document(kind="trends", series=[{"event": TREND_EVENT, "math": "unique_users"}],
                      interval="day", breakdown=TREND_BREAKDOWN)


def funnel_document(w: Window) -> dict[str, Any]:
    return w.document(kind="funnel", steps=[{"event": e} for e in FUNNEL_STEPS],
                      window=f"{FUNNEL_WINDOW_DAYS}d")


def retention_document(w: Window) -> dict[str, Any]:
    return w.document(kind="retention", start_event=FUNNEL_STEPS[0], return_event="$any",
                      period="week", periods=RETENTION_PERIODS)


# ------------------------------------------------------------------------------ ClickHouse
def trend_sql(w: Window) -> str:
    return f"""
SELECT toDate(timestamp, '{w.timezone}') AS day, mat_channel AS channel,
       uniqExact(distinct_id) AS users
FROM events
WHERE {w.ch_where()} AND event = '{TREND_EVENT}'
GROUP BY day, channel
ORDER BY day, channel"""


def funnel_sql(w: Window) -> str:
    window_us = FUNNEL_WINDOW_DAYS * 86_400 * 1_000_000
    conditions = ", ".join(f"event = '{e}'" for e in FUNNEL_STEPS)
    counts = ", ".join(f"countIf(level >= {k}) AS step{k}" for k in range(1, len(FUNNEL_STEPS) + 1))
    names = ", ".join(f"'{e}'" for e in FUNNEL_STEPS)
    return f"""
SELECT {counts}
FROM (
    SELECT windowFunnel({window_us})(toUInt64(toUnixTimestamp64Micro(timestamp)), {conditions})
           AS level
    FROM events
    WHERE {w.ch_where()} AND event IN ({names})
    GROUP BY distinct_id
)"""


def retention_sql(w: Window) -> str:
    """Per user: cohort week (first app_open) and a bitmask of active weeks; no join."""
    returns = ", ".join(f"sum(bitTest(m, c + {k})) AS p{k}"
                        for k in range(1, RETENTION_PERIODS + 1))
    return f"""
SELECT c, count() AS size, {returns}
FROM (
    SELECT minIf(w, event = '{FUNNEL_STEPS[0]}') AS c, countIf(event = '{FUNNEL_STEPS[0]}') AS n,
           groupBitOr(bitShiftLeft(toUInt64(1), w)) AS m
    FROM (
        SELECT distinct_id, event,
               toUInt8(intDiv(toRelativeDayNum(timestamp, '{w.timezone}') + 3, 7) - {w.first_week})
               AS w
        FROM events
        WHERE {w.ch_where()}
    )
    GROUP BY distinct_id
)
WHERE n > 0
GROUP BY c
ORDER BY c"""


# ------------------------------------------------------------------------------ canonical forms
Canonical = list[tuple[Any, ...]]


def trend_from_yunying(result: Any, w: Window) -> Canonical:
    """(day, channel, users) for every non-zero cell (yunying zero-fills, ClickHouse does not)."""
    return sorted(
        (day, s.breakdown_value, int(v))
        for s in result.series for day, v in zip(s.dates, s.values, strict=True) if v
    )


def trend_from_clickhouse(table: pa.Table, w: Window) -> Canonical:
    # JSONExtractString gives '' for a missing key where yunying has null
    return sorted((r["day"].isoformat(), r["channel"] or None, int(r["users"]))
                  for r in table.to_pylist() if r["users"])


def funnel_from_yunying(result: Any, w: Window) -> Canonical:
    return [tuple(s.count for s in result.steps)]


def funnel_from_clickhouse(table: pa.Table, w: Window) -> Canonical:
    row = table.to_pylist()[0]
    return [tuple(int(row[f"step{k}"]) for k in range(1, len(FUNNEL_STEPS) + 1))]


def retention_from_yunying(result: Any, w: Window) -> Canonical:
    """(cohort Monday, size, values[1:]) for every non-empty cohort."""
    return [(c.cohort, c.size, *c.values[1:]) for c in result.cohorts if c.size]


def retention_from_clickhouse(table: pa.Table, w: Window) -> Canonical:
    out = []
    last = w.last_week - w.first_week
    for r in table.to_pylist():
        shown = min(RETENTION_PERIODS, last - r["c"])  # periods after date_to are not reported
        values = [int(r[f"p{k}"]) for k in range(1, shown + 1)]
        out.append((w.monday_of(w.first_week + r["c"]), int(r["size"]), *values))
    return out


@dataclass(frozen=True)
class QuerySpec:
    name: str
    document: Callable[[Window], dict[str, Any]]
    sql: Callable[[Window], str]
    from_yunying: Callable[[Any, Window], Canonical]
    from_clickhouse: Callable[[pa.Table, Window], Canonical]


QUERIES: dict[str, QuerySpec] = {
    "trend": QuerySpec("trend", trend_document, trend_sql, trend_from_yunying,
                       trend_from_clickhouse),
    "funnel": QuerySpec("funnel", funnel_document, funnel_sql, funnel_from_yunying,
                        funnel_from_clickhouse),
    "retention": QuerySpec("retention", retention_document, retention_sql,
                           retention_from_yunying, retention_from_clickhouse),
}


def differences(a: Canonical, b: Canonical, limit: int = 5) -> list[str]:
    """Human-readable differences between two canonical results (empty when identical)."""
    if a == b:
        return []
    sa, sb = set(a), set(b)
    out = [f"yunying only: {row}" for row in sorted(sa - sb, key=repr)[:limit]]
    out += [f"ClickHouse only: {row}" for row in sorted(sb - sa, key=repr)[:limit]]
    if not out:
        out.append("same rows in a different order or with repeats")
    return [f"{len(a)} vs {len(b)} rows", *out]
