"""How a timestamp cell of an imported file becomes a UTC instant — as DuckDB expressions.

The rules (documented for users in ``docs/import.md``):

* **Text with an offset or zone** (``2024-05-01T10:00:00+08:00``, ``…Z``, ``…+0800``):
  that instant.
* **Text without one** (``2024-05-01 10:00:00``, ``2024-05-01``): wall-clock time in the
  import time zone (the project's, default ``Asia/Shanghai``, or ``--timezone``).
* **A number, or text that is only a number** (``1714528800``, ``1714528800123``,
  ``1714528800.5``): Unix epoch, unit by magnitude of the absolute value x —
  x < 1e11 → seconds, x < 1e14 → milliseconds, x < 1e17 → microseconds, larger → rejected.
  Fractions are kept to the microsecond (rounded half away from zero).
* **A typed timestamp column** (Parquet, Excel date cells): with a time zone → that instant;
  naive → wall-clock time in the import time zone. A date → its midnight there.
* **Plausible range**: the result must be ≥ 2000-01-01 00:00 UTC and at most one day after
  the moment the import started; anything else is rejected.

Every expression here refers to the named parameters ``$tz`` (IANA zone name), ``$now`` (UTC
naive TIMESTAMP) and the three of :func:`zone_params`, which callers bind; no value is ever
spliced into SQL text.

Converting a wall-clock time to UTC through the zone database (ICU) costs about as much as
parsing a JSON text, per row. Most zones (UTC, Asia/Shanghai …) have kept one offset for all
plausible timestamps, so :func:`zone_params` finds — with the same ICU conversion, at every
hour from 1999-12-01 to a week after now — whether the zone's offset is constant there; if
so, a wall-clock time in that span is converted by subtracting the offset, and only times
outside it (rejected anyway, but the rejection must be exact) go through ICU.
"""

from __future__ import annotations

import datetime as dt

import duckdb

EARLIEST = dt.datetime(2000, 1, 1)
FUTURE_TOLERANCE = dt.timedelta(days=1)
EPOCH_SECONDS_BELOW = 10**11
EPOCH_MILLIS_BELOW = 10**14
EPOCH_MICROS_BELOW = 10**17

# A trailing zone after a time of day: Z, ±hh, ±hhmm, ±hh:mm, or a zone name (Asia/Tokyo, UTC).
_ZONE_SUFFIX = r"\d:\d\d(:\d\d([.,]\d+)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?|[A-Za-z][A-Za-z_/+\-]*)\s*$"
_NUMBER = r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*"

REASON_MISSING = "missing timestamp"
REASON_UNPARSEABLE = (
    "unparseable timestamp (expected ISO 8601 such as 2024-05-01T10:00:00+08:00, "
    "or epoch seconds / milliseconds)"
)
REASON_TOO_EARLY = "timestamp before 2000-01-01 (is it epoch in another unit?)"
REASON_TOO_LATE = "timestamp more than 1 day in the future"

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


def _epoch_micros(decimal_sql: str) -> str:
    """UTC TIMESTAMP from an epoch value given as a DECIMAL(38,6) expression, unit by magnitude."""
    d = decimal_sql
    micros = (
        f"CASE WHEN abs({d}) < {EPOCH_SECONDS_BELOW} THEN round({d} * 1000000)"
        f" WHEN abs({d}) < {EPOCH_MILLIS_BELOW} THEN round({d} * 1000)"
        f" WHEN abs({d}) < {EPOCH_MICROS_BELOW} THEN round({d}) END"
    )
    return f"make_timestamp(({micros})::BIGINT)"


def _local(naive_sql: str) -> str:
    """A naive wall-clock TIMESTAMP in ``$tz`` -> naive UTC TIMESTAMP."""
    n = naive_sql
    return (f"CASE WHEN {n} BETWEEN $tz_from AND $tz_to THEN {n} - $tz_offset "
            f"ELSE timezone('UTC', timezone($tz, {n})) END")


_FIXED_FROM = dt.datetime(1999, 12, 1)


def zone_params(con: duckdb.DuckDBPyConnection, zone: str, now: dt.datetime) -> dict[str, object]:
    """``$tz_from``, ``$tz_to``, ``$tz_offset``: the wall-clock span in which ``zone`` is
    ``$tz_offset`` ahead of UTC throughout (an empty span when its offset changes there)."""
    key = (zone, now.date())
    if key not in _ZONES:
        _ZONES[key] = _zone_params(con, zone, now.date())
    return dict(_ZONES[key])


_ZONES: dict[tuple[str, dt.date], dict[str, object]] = {}


def _zone_params(con: duckdb.DuckDBPyConnection, zone: str, today: dt.date) -> dict[str, object]:
    until = dt.datetime.combine(today, dt.time()) + dt.timedelta(days=7)
    row = con.execute(
        """SELECT min(o), max(o) FROM (
             SELECT t - timezone('UTC', timezone($tz, t)) AS o
             FROM generate_series($from, $to, INTERVAL 1 HOUR) AS g(t))""",
        {"tz": zone, "from": _FIXED_FROM, "to": until}).fetchone()
    if row is None or row[0] is None or row[0] != row[1]:
        # offset changes (daylight saving time): every time goes through ICU
        return {"tz_from": until, "tz_to": _FIXED_FROM, "tz_offset": dt.timedelta(0)}
    return {"tz_from": _FIXED_FROM, "tz_to": until, "tz_offset": row[0]}


def _from_text(s: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({s}, '{_NUMBER}')"
        f" THEN {_epoch_micros(f'try_cast(trim({s}) AS DECIMAL(38,6))')}"
        f" WHEN regexp_matches({s}, '{_ZONE_SUFFIX}')"
        f" THEN timezone('UTC', try_cast({s} AS TIMESTAMPTZ))"
        f" ELSE {_local(f'try_cast({s} AS TIMESTAMP)')} END"
    )


def parse_expr(column_sql: str, column_type: str) -> str:
    """SQL giving the UTC naive TIMESTAMP of ``column_sql`` (of DuckDB type ``column_type``).

    NULL when the value is missing or cannot be read; see :func:`reason_expr` for why.
    """
    t = column_type.upper()
    if t == "VARCHAR" or t == "JSON":
        return _from_text(f"{column_sql}::VARCHAR")
    if t in _INTEGER_TYPES or t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        # via DOUBLE for floats so that NaN, ±Inf and 1.7e9-style text become NULL, not errors
        value = f"try_cast({column_sql} AS DOUBLE)" if t in _FLOAT_TYPES else column_sql
        return _epoch_micros(f"try_cast({value} AS DECIMAL(38,6))")
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"timezone('UTC', {column_sql})"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return _local(f"{column_sql}::TIMESTAMP")
    return "NULL::TIMESTAMP"


def is_missing_expr(column_sql: str, column_type: str) -> str:
    """SQL that is true when the cell holds no timestamp at all (NULL or blank text)."""
    if column_type.upper() in ("VARCHAR", "JSON"):
        return f"({column_sql} IS NULL OR trim({column_sql}::VARCHAR) = '')"
    return f"({column_sql} IS NULL)"


def reason_expr(missing_sql: str, parsed_sql: str) -> str:
    """SQL giving the rejection reason for a timestamp (NULL when it is acceptable)."""
    return (
        f"CASE WHEN {missing_sql} THEN '{REASON_MISSING}'"
        f" WHEN {parsed_sql} IS NULL THEN '{REASON_UNPARSEABLE}'"
        f" WHEN {parsed_sql} < TIMESTAMP '{EARLIEST:%Y-%m-%d %H:%M:%S}' THEN '{REASON_TOO_EARLY}'"
        f" WHEN {parsed_sql} > $now + INTERVAL {FUTURE_TOLERANCE.days} DAY THEN '{REASON_TOO_LATE}'"
        " END"
    )
