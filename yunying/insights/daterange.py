"""The one date-range object: time zone, local dates, bucket indexes and labels.

Every insight buckets time through :class:`DateRange`; nothing else truncates dates.

Timestamps are stored as naive UTC. A bucket is computed as an integer *index* from the
event's local wall-clock time (UTC + the zone's offset at that instant):

* ``hour``  — local seconds // 3600
* ``day``   — local seconds // 86400 (days since 1970-01-01, local)
* ``week``  — (day + 3) // 7: weeks since Monday 1969-12-29, so weeks start on Monday
* ``month`` — months since 1970-01

The zone's offset is a piecewise-constant function of the UTC instant; it is found once per
query in Python (:func:`offset_segments`) and becomes a ``CASE`` over instants in the query,
which is exact, portable (DuckDB and Spark) and cheaper than a per-row time-zone lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

Unit = str  # "hour" | "day" | "week" | "month"
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DATE = dt.date(1970, 1, 1)


def _offset_seconds(zone: ZoneInfo, utc: dt.datetime) -> int:
    aware = utc.replace(tzinfo=dt.UTC).astimezone(zone)
    offset = aware.utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def offset_segments(zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """The zone's UTC offsets over [start, end) (naive UTC) as (from_instant, offset_seconds).

    The first segment's instant is ``start``. Transitions are located to the second by
    bisection between daily samples (zones change offset at most a few times a year).
    """
    segments = [(start, _offset_seconds(zone, start))]
    day = dt.timedelta(days=1)
    lo = start
    while lo < end:
        hi = min(lo + day, end)
        if _offset_seconds(zone, hi) != segments[-1][1]:
            a, b = lo, hi  # offset(a) == current, offset(b) differs
            while b - a > dt.timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid <= a:
                    break
                if _offset_seconds(zone, mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            segments.append((b, _offset_seconds(zone, b)))
            lo = b
        else:
            lo = hi
    return segments


def bucket_index_of_date(unit: Unit, day: dt.date) -> int:
    """Index of the (day/week/month) bucket holding local date ``day``; hour: its first hour."""
    days = (day - _EPOCH_DATE).days
    if unit == "hour":
        return days * 24
    if unit == "day":
        return days
    if unit == "week":
        return (days + 3) // 7
    if unit == "month":
        return (day.year - 1970) * 12 + day.month - 1
    raise ValueError(f"unknown interval {unit!r}")


def bucket_start_date(unit: Unit, index: int) -> dt.date:
    """The local date on which bucket ``index`` starts (hour: the date of that hour)."""
    if unit == "hour":
        return _EPOCH_DATE + dt.timedelta(days=index // 24)
    if unit == "day":
        return _EPOCH_DATE + dt.timedelta(days=index)
    if unit == "week":
        return _EPOCH_DATE + dt.timedelta(days=index * 7 - 3)
    if unit == "month":
        return dt.date(1970 + index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown interval {unit!r}")


def bucket_label(unit: Unit, index: int) -> str:
    """``YYYY-MM-DD`` (week: the Monday; month: the 1st), ``YYYY-MM-DD HH:00`` for hours."""
    start = bucket_start_date(unit, index)
    if unit == "hour":
        return f"{start.isoformat()} {index % 24:02d}:00"
    return start.isoformat()


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of local dates in a time zone (docs/metrics.md, 'Time zone')."""

    date_from: dt.date
    date_to: dt.date
    timezone: str

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def shifted_back(self) -> DateRange:
        """The previous period: as many days, ending the day before ``date_from``."""
        days = (self.date_to - self.date_from).days + 1
        return DateRange(self.date_from - dt.timedelta(days=days),
                         self.date_from - dt.timedelta(days=1), self.timezone)

    # ------------------------------------------------------------------ UTC instants
    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """A naive-UTC window [lo, hi) that surely holds every instant of the local range.

        Used to prune rows before the exact local-date test (offsets are within ±26 h).
        """
        lo = dt.datetime.combine(self.date_from, dt.time()) - dt.timedelta(hours=27)
        hi = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time()) + dt.timedelta(hours=27)
        return lo, hi

    # ------------------------------------------------------------------ expressions
    def local_seconds(self, ts: ir.TimestampValue) -> ir.NumericValue:
        """Seconds since 1970-01-01 00:00 on the local wall clock (fractional, exact to µs).

        Instants before the range's pruning window take the first offset of the window: they
        land in earlier buckets either way (DST moves the clock by at most hours, the window
        starts 27 h early), which is all lifecycle needs of a user's first event.
        """
        lo, hi = self.utc_bounds()
        segments = offset_segments(self.zone, lo, hi)
        offset: ir.IntegerValue
        if len(segments) == 1:
            offset = ibis.literal(segments[0][1], "int32")
        else:
            cases = [(ts < ibis.literal(until, "timestamp"), off)
                     for (_, off), (until, _) in zip(segments, segments[1:], strict=False)]
            offset = ibis.cases(*cases, else_=segments[-1][1])
        return ts.epoch_seconds() + offset

    def bucket_index(self, ts: ir.TimestampValue, unit: Unit) -> ir.IntegerValue:
        """Integer bucket index of each timestamp (see the module docstring)."""
        seconds = self.local_seconds(ts)
        if unit == "hour":
            return (seconds // 3600).cast("int64")
        days = (seconds // 86_400).cast("int64")
        if unit == "day":
            return days
        if unit == "week":
            return ((days + 3) // 7).cast("int64")
        if unit == "month":
            # months since 1970: from the local calendar date of the day index.
            local_ts = ibis.literal(_EPOCH, "timestamp") + (days.as_interval("D"))
            return ((local_ts.year() - 1970) * 12 + local_ts.month() - 1).cast("int64")
        raise ValueError(f"unknown interval {unit!r}")

    def in_range(self, ts: ir.TimestampValue) -> ir.BooleanValue:
        """Exact test 'local date of ts is within [date_from, date_to]'.

        With one UTC offset over the range (zones without DST, such as Asia/Shanghai) it is a
        plain UTC interval; otherwise a pruning interval plus the test on the local day index.
        """
        lo, hi = self.utc_bounds()
        segments = offset_segments(self.zone, lo, hi)
        if len(segments) == 1:
            shift = dt.timedelta(seconds=segments[0][1])
            start = dt.datetime.combine(self.date_from, dt.time()) - shift
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time()) - shift
            return (ts >= ibis.literal(start, "timestamp")) & (ts < ibis.literal(end, "timestamp"))
        day = self.bucket_index(ts, "day")
        return (
            (ts >= ibis.literal(lo, "timestamp"))
            & (ts < ibis.literal(hi, "timestamp"))
            & day.between(bucket_index_of_date("day", self.date_from),
                          bucket_index_of_date("day", self.date_to))
        )

    def bucket_indexes(self, unit: Unit) -> list[int]:
        """Every bucket index touching the range, in order."""
        first = bucket_index_of_date(unit, self.date_from)
        if unit == "hour":
            last = bucket_index_of_date("hour", self.date_to) + 23
        else:
            last = bucket_index_of_date(unit, self.date_to)
        return list(range(first, last + 1))
