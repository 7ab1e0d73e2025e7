"""A slow, obviously-correct oracle for every insight, written only from docs/metrics.md.

Nothing here imports the runners, ibis or a database: each metric is recomputed in plain
Python from a list of events, following the definitions literally (brute force where the
doc says "there are k events such that …"). Tests compare the runners with this module on
random event logs.

An *event* is a dict ``{"uuid", "event", "distinct_id", "timestamp", "properties"}`` where
``timestamp`` is a naive ``datetime`` meaning UTC and ``properties`` is a dict (the event's
JSON object). A *query* is a validated document model (``yunying.insights.parse_document``);
its fields are read as plain attributes. :func:`run_oracle` returns the same JSON shape as
the runner's ``result.to_json()``.

Choices where docs/metrics.md is silent are marked ``DOC GAP`` below.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cache
from types import SimpleNamespace as _Namespace
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]
JSON = dict[str, Any]

ANY_EVENT = "$any"
OTHER = "$other"
_UTC = dt.UTC
_BLANKS = r"[ \t\n\r\f\v]*"
_DECIMAL_NUMBER = re.compile(
    _BLANKS + r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?" + _BLANKS)
_WINDOW = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


# --------------------------------------------------------------------------- property values
def float_json_text(number: float) -> str:
    """The JSON text of a float as the store writes it back (docs: 'Property values').

    DOC GAP: the doc says "the JSON text for a number (1.50 gives 1.5)" without fixing the
    text of e.g. ``2.0`` or ``1e-7``. DuckDB's ``json_extract_string`` (yyjson) writes the
    shortest round-trip digits, fixed notation for 1e-7 < |x| < 1e21 with ``.0`` kept on
    whole numbers (``2.0``, ``100000000000000000000.0``), else ``1e-7``/``1.5e300`` style.
    """
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)
    text_digits = "".join(map(str, digits)).rstrip("0") or "0"
    exponent += len(digits) - len(text_digits)  # value = text_digits × 10^exponent
    point = len(text_digits) + exponent  # position of the decimal point in text_digits
    minus = "-" if sign else ""
    if -6 < point <= 21:  # fixed notation
        if exponent >= 0:
            return f"{minus}{text_digits}{'0' * exponent}.0"
        if point > 0:
            return f"{minus}{text_digits[:point]}.{text_digits[point:]}"
        return f"{minus}0.{'0' * -point}{text_digits}"
    mantissa = text_digits[0] + ("." + text_digits[1:] if len(text_digits) > 1 else "")
    return f"{minus}{mantissa}e{point - 1}"


def _json_text(value: Any) -> str:
    """Compact JSON text of a nested value (objects/arrays), floats as :func:`float_json_text`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_json_text(value)
    if isinstance(value, str):  # control characters as \u001F (upper-case hex, as DuckDB)
        return re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group().upper().replace("\\U", "\\u"),
                      json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        members = (f"{_json_text(str(k))}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def string_form(value: Any) -> str | None:
    """Docs 'Property values': the string itself, JSON text for anything else, None for null."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _json_text(value)


def numeric_value(text: str | None) -> float | None:
    """Docs 'Property values': the string form read as a decimal number, else None.

    DOC GAP: "decimal number" is read as optional ASCII blanks, a sign, digits with an
    optional point, an optional exponent. ``inf``/``nan``/``1_000`` are not numbers here
    (DuckDB's ``TRY_CAST(… AS DOUBLE)`` accepts them).
    """
    if text is None or not _DECIMAL_NUMBER.fullmatch(text):
        return None
    return float(text)


def prop(event: Event, key: str) -> str | None:
    """String form of top-level property ``key`` (dots are not paths); None when missing."""
    return string_form(event["properties"].get(key))


def filter_value_forms(value: Any) -> list[str]:
    """A filter's ``value`` as the strings it is compared with (a list means any of them)."""
    values = value if isinstance(value, list) else [value]
    return [string_form(v) or "" for v in values]


def filter_holds(event: Event, flt: Any) -> bool:
    """Docs 'Filters': one ``{"property", "operator", "value"}`` on one event."""
    v = prop(event, flt.property)
    op = flt.operator
    if op == "is_set":
        return v is not None
    if op == "is_not_set":
        return v is None
    if op in ("gt", "gte", "lt", "lte"):
        number = numeric_value(v)
        if number is None:
            return False
        bound = float(flt.value)
        return {"gt": number > bound, "gte": number >= bound,
                "lt": number < bound, "lte": number <= bound}[op]
    forms = filter_value_forms(flt.value)
    if op == "eq":
        return v is not None and v in forms
    if op == "neq":
        return v is None or v not in forms
    if op == "contains":
        return v is not None and forms[0] in v
    if op == "not_contains":
        return v is None or forms[0] not in v
    if op == "icontains":
        return v is not None and forms[0].lower() in v.lower()
    raise ValueError(f"unknown operator {op!r}")


def filters_hold(event: Event, filters: Sequence[Any]) -> bool:
    return all(filter_holds(event, f) for f in filters)


def selects(event: Event, name: str, filters: Sequence[Any]) -> bool:
    """Docs 'Event selectors': the event is ``name`` (any for ``$any``) and passes ``filters``."""
    return (name == ANY_EVENT or event["event"] == name) and filters_hold(event, filters)


# --------------------------------------------------------------------------- time
@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(ts: dt.datetime, timezone: str) -> dt.datetime:
    """Docs 'Time zone': the UTC instant on the zone's wall clock (naive)."""
    return ts.replace(tzinfo=_UTC).astimezone(_zone(timezone)).replace(tzinfo=None)


def local_date(ts: dt.datetime, timezone: str) -> dt.date:
    return local_time(ts, timezone).date()


def in_range(event: Event, date_from: dt.date, date_to: dt.date, timezone: str) -> bool:
    """Inclusive local date range."""
    return date_from <= local_date(event["timestamp"], timezone) <= date_to


# A bucket is the naive local datetime at which it starts: hour → that hour; day → midnight;
# week → Monday midnight; month → the 1st at midnight. Arithmetic is on the wall clock.
Bucket = dt.datetime


def bucket_of(local: dt.datetime, unit: str) -> Bucket:
    day = dt.datetime.combine(local.date(), dt.time())
    if unit == "hour":
        return day.replace(hour=local.hour)
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=local.weekday())
    if unit == "month":
        return day.replace(day=1)
    raise ValueError(unit)


def shift(bucket: Bucket, unit: str, n: int) -> Bucket:
    """The bucket ``n`` buckets after ``bucket`` (before for n < 0), on the wall clock."""
    if unit == "hour":
        return bucket + dt.timedelta(hours=n)
    if unit == "day":
        return bucket + dt.timedelta(days=n)
    if unit == "week":
        return bucket + dt.timedelta(days=7 * n)
    months = bucket.year * 12 + bucket.month - 1 + n
    return bucket.replace(year=months // 12, month=months % 12 + 1)


def label(bucket: Bucket, unit: str) -> str:
    """``YYYY-MM-DD``; ``YYYY-MM-DD HH:00`` for hours."""
    return bucket.strftime("%Y-%m-%d %H:00") if unit == "hour" else bucket.date().isoformat()


def buckets_touching(date_from: dt.date, date_to: dt.date, unit: str) -> list[Bucket]:
    """Every bucket touching the range, in order (hour: 24 per local date)."""
    first = bucket_of(dt.datetime.combine(date_from, dt.time()), unit)
    last = bucket_of(dt.datetime.combine(date_to, dt.time(23)), unit)
    out = [first]
    while out[-1] < last:
        out.append(shift(out[-1], unit, 1))
    return out


def event_bucket(event: Event, unit: str, timezone: str) -> Bucket:
    return bucket_of(local_time(event["timestamp"], timezone), unit)


def micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# --------------------------------------------------------------------------- statistics
def quantile(values: Iterable[float], q: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default): h = (n−1)q."""
    xs = sorted(values)
    assert xs, "quantile of nothing"
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(xs):
        return xs[lo]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def rank_values(counts: dict[str | None, int]) -> list[str | None]:
    """Breakdown order: count descending, ties by value ascending, null last."""
    return sorted(counts, key=lambda v: (-counts[v], v is None, v or ""))


def fold(ranked: list[str | None], limit: int) -> tuple[list[str | None], set[str | None]]:
    """The reported values (kept ones, then ``$other`` if anything was folded) and the kept set."""
    kept = ranked[:limit]
    return (kept + [OTHER] if len(ranked) > limit else kept), set(kept)


def timezone_of(query: Any, project_timezone: str) -> str:
    return query.timezone or project_timezone


# --------------------------------------------------------------------------- trends
def _trend_value(events: list[Event], math_name: str, property_key: str | None) -> float:
    """Docs 'Trends' maths table; 0 when there are no events or no numeric values."""
    if math_name == "total":
        return float(len(events))
    if math_name == "unique_users":
        return float(len({e["distinct_id"] for e in events}))
    assert property_key is not None
    numbers = [n for e in events if (n := numeric_value(prop(e, property_key))) is not None]
    if not numbers:
        return 0.0
    if math_name == "sum":
        return float(math.fsum(numbers))
    if math_name == "avg":
        return math.fsum(numbers) / len(numbers)
    if math_name == "min":
        return min(numbers)
    if math_name == "max":
        return max(numbers)
    return quantile(numbers, {"median": 0.5, "p90": 0.9}[math_name])


def _trend_series(events: list[Event], query: Any, series: Any, letter: str, compare: str,
                  date_from: dt.date, date_to: dt.date, timezone: str) -> list[JSON]:
    chosen = [
        e for e in events
        if in_range(e, date_from, date_to, timezone)
        and filters_hold(e, query.filters) and selects(e, series.event, series.filters)
    ]
    groups: list[tuple[str | None, list[Event]]]
    if query.breakdown is None:
        groups = [(None, chosen)]
    else:
        counts = Counter(prop(e, query.breakdown) for e in chosen)
        reported, kept = fold(rank_values(counts), query.breakdown_limit)
        groups = []
        for value in reported:
            if value == OTHER:
                members = [e for e in chosen if prop(e, query.breakdown) not in kept]
            else:
                members = [e for e in chosen if prop(e, query.breakdown) == value]
            groups.append((value, members))
    unit = query.interval
    buckets = buckets_touching(date_from, date_to, unit)
    out = []
    for value, members in groups:
        by_bucket: dict[Bucket, list[Event]] = defaultdict(list)
        for e in members:
            by_bucket[event_bucket(e, unit, timezone)].append(e)
        out.append({
            "label": letter, "event": series.event, "math": series.math,
            "property": series.property, "breakdown_value": value, "compare": compare,
            "dates": [label(b, unit) for b in buckets],
            "values": [_trend_value(by_bucket.get(b, []), series.math, series.property)
                       for b in buckets],
            # DOC GAP: ``total`` is not defined in docs/metrics.md; taken as the series' math
            # over all of its events in the range (so unique users over the range).
            "total": _trend_value(members, series.math, series.property),
        })
    return out


def evaluate_formula(text: str, values: dict[str, float]) -> float | None:
    """Docs 'Formula': + - * / ( ) numbers and letters; x/0 is null and null propagates.

    A letter missing from ``values`` counts as 0. Unary minus is accepted.
    """
    tokens = re.findall(r"\d+(?:\.\d+)?|[A-Z]|[-+*/()]", text)
    assert "".join(tokens) == re.sub(r"\s+", "", text), f"bad formula {text!r}"
    pos = 0

    def atom() -> float | None:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            inner = expr()
            pos += 1  # ")"
            return inner
        if token == "-":
            inner = atom()
            return None if inner is None else -inner
        if token.isalpha():
            return values.get(token, 0.0)
        return float(token)

    def combine(op: str, a: float | None, b: float | None) -> float | None:
        if a is None or b is None:
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b

    def term() -> float | None:
        nonlocal pos
        result = atom()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            result = combine(op, result, atom())
        return result

    def expr() -> float | None:
        nonlocal pos
        result = term()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            result = combine(op, result, term())
        return result

    return expr()


def _formula_series(query: Any, series: list[JSON]) -> list[JSON]:
    """One formula series per period and breakdown value, matching equal breakdown values.

    DOC GAP: with ``compare`` the formula is also evaluated over the previous period.
    Breakdown values appear in the order they first appear among the period's series.
    """
    out = []
    for compare in ("current", "previous"):
        part = [s for s in series if s["compare"] == compare]
        if not part:
            continue
        dates = part[0]["dates"]
        for value in dict.fromkeys(s["breakdown_value"] for s in part):
            by_letter = {s["label"]: s for s in part if s["breakdown_value"] == value}
            values = [
                evaluate_formula(query.formula, {k: s["values"][i] for k, s in by_letter.items()})
                for i in range(len(dates))
            ]
            out.append({
                "label": query.formula, "event": None, "math": "formula", "property": None,
                "breakdown_value": value, "compare": compare, "dates": dates,
                "values": values, "total": None,
            })
    return out


def trends(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Trends' (with breakdown, $other folding, compare and formula)."""
    timezone = timezone_of(query, project_timezone)
    periods = [("current", query.date_from, query.date_to)]
    if query.compare:
        days = (query.date_to - query.date_from).days + 1
        periods.append(("previous", query.date_from - dt.timedelta(days=days),
                        query.date_from - dt.timedelta(days=1)))
    series: list[JSON] = []
    for compare, date_from, date_to in periods:
        for i, s in enumerate(query.series):
            series += _trend_series(events, query, s, chr(ord("A") + i), compare,
                                    date_from, date_to, timezone)
    if query.formula:
        series += _formula_series(query, series)
    return {"kind": "trends", "timezone": timezone, "interval": query.interval, "series": series}


# --------------------------------------------------------------------------- funnel
def window_seconds(text: str) -> int:
    match = _WINDOW.match(text)
    assert match, text
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def funnel_chains(matches: list[list[bool]], times: list[dt.datetime],
                  window: dt.timedelta) -> dict[int, dt.datetime]:
    """For one user: {j: t*_j} for every level j ≥ 1 the user reaches (docs 'Funnel').

    ``matches[x][i]`` says whether the user's event x matches step i; ``times[x]`` is its
    timestamp. A chain is distinct events e₁…e_j, eᵢ matching step i, non-decreasing
    timestamps (ties in any order), t(e_j) − t(e₁) ≤ window. t*_j is the least t(e_j) over all
    chains of length j; the level is the largest such j.

    Every chain is enumerated by depth-first search. Memoised on (next step, t(e₁), t(e_last),
    events used at t(e_last)): events used earlier are before t(e_last) and can never be
    picked again anyway (later picks are ≥ t(e_last)), so the key determines the rest.
    """
    steps = len(matches[0]) if matches else 0
    order = sorted(range(len(times)), key=lambda x: times[x])

    @cache
    def extend(step: int, first: dt.datetime, last: dt.datetime,
               used_at_last: frozenset[int]) -> dict[int, dt.datetime]:
        """{j: least t(e_j)} over completions of a chain that has steps < ``step`` done."""
        best: dict[int, dt.datetime] = {}
        if step == steps:
            return best
        for x in order:
            t = times[x]
            if t < last or t - first > window or x in used_at_last or not matches[x][step]:
                continue
            used = used_at_last | {x} if t == last else frozenset({x})
            best[step + 1] = min(best.get(step + 1, t), t)
            for j, tj in extend(step + 1, first, t, used).items():
                best[j] = min(best.get(j, tj), tj)
        return best

    result: dict[int, dt.datetime] = {}
    for x in order:
        if matches[x] and matches[x][0]:
            t = times[x]
            result[1] = min(result.get(1, t), t)
            for j, tj in extend(1, t, t, frozenset({x})).items():
                result[j] = min(result.get(j, tj), tj)
    return result


def _funnel_steps(query: Any, users: dict[str, dict[int, dt.datetime]]) -> list[JSON]:
    """Step rows over ``users`` (user → {level j: t*_j}) for users with level ≥ 1."""
    counts = [sum(1 for t in users.values() if k in t) for k in range(1, len(query.steps) + 1)]
    rows = []
    for k, step in enumerate(query.steps, start=1):
        count = counts[k - 1]
        first, previous = counts[0], counts[k - 2] if k > 1 else None
        to_convert = from_first = None
        reached = [t for t in users.values() if k in t]
        if k >= 2 and reached:
            to_convert = quantile([micros(t[k] - t[k - 1]) / 1e6 for t in reached], 0.5)
            from_first = quantile([micros(t[k] - t[1]) / 1e6 for t in reached], 0.5)
        rows.append({
            "step": k, "event": step.event, "count": count,
            # DOC GAP: conversion_from_first of step 1 in an empty funnel is 0/0 → 0.
            "conversion_from_first": count / first if first else 0.0,
            "conversion_from_previous": 1.0 if previous is None else
            (count / previous if previous else 0.0),
            "median_seconds_to_convert": to_convert,
            "median_seconds_from_first": from_first,
        })
    return rows


def funnel(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Funnel' (levels by brute force over chains, medians, breakdown)."""
    timezone = timezone_of(query, project_timezone)
    window = dt.timedelta(seconds=window_seconds(query.window))
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if in_range(e, query.date_from, query.date_to, timezone) and filters_hold(e, query.filters):
            by_user[e["distinct_id"]].append(e)
    users: dict[str, dict[int, dt.datetime]] = {}
    for user, evs in by_user.items():
        matches = [[selects(e, s.event, s.filters) for s in query.steps] for e in evs]
        levels = funnel_chains(matches, [e["timestamp"] for e in evs], window)
        if levels:
            users[user] = levels
    breakdowns = None
    if query.breakdown is not None:
        value_of: dict[str, str | None] = {}
        for user in users:
            first_step = query.steps[0]
            step1 = [e for e in by_user[user] if selects(e, first_step.event, first_step.filters)]
            earliest = min(e["timestamp"] for e in step1)
            candidates = [prop(e, query.breakdown) for e in step1 if e["timestamp"] == earliest]
            value_of[user] = min(candidates, key=lambda v: (v is None, v or ""))
        reported, kept = fold(rank_values(Counter(value_of.values())), query.breakdown_limit)
        breakdowns = []
        for value in reported:
            members = {
                u: t for u, t in users.items()
                if (value_of[u] not in kept if value == OTHER else value_of[u] == value)
            }
            breakdowns.append({"breakdown_value": value, "steps": _funnel_steps(query, members)})
    return {
        "kind": "funnel", "timezone": timezone, "window_seconds": int(window.total_seconds()),
        "steps": _funnel_steps(query, users), "breakdowns": breakdowns,
    }


# --------------------------------------------------------------------------- retention
def retention(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Retention': cohorts by first start event, returns by period offset."""
    timezone = timezone_of(query, project_timezone)
    unit = query.period
    inside = [e for e in events
              if in_range(e, query.date_from, query.date_to, timezone)
              and filters_hold(e, query.filters)]
    first_start: dict[str, dt.datetime] = {}
    for e in inside:
        if selects(e, query.start_event, query.start_filters):
            user = e["distinct_id"]
            first_start[user] = min(first_start.get(user, e["timestamp"]), e["timestamp"])
    cohort_of = {u: bucket_of(local_time(t, timezone), unit) for u, t in first_start.items()}
    returns: dict[str, set[Bucket]] = defaultdict(set)
    for e in inside:
        if selects(e, query.return_event, query.return_filters):
            returns[e["distinct_id"]].add(event_bucket(e, unit, timezone))
    rows = buckets_touching(query.date_from, query.date_to, unit)
    last = rows[-1]
    cohorts = []
    for index, cohort in enumerate(rows):
        members = [u for u, c in cohort_of.items() if c == cohort]
        n_after = min(query.periods, len(rows) - 1 - index)
        assert shift(cohort, unit, n_after) <= last
        values = [len(members)] + [
            sum(1 for u in members if shift(cohort, unit, i) in returns[u])
            for i in range(1, n_after + 1)
        ]
        cohorts.append({"cohort": label(cohort, unit), "size": len(members), "values": values})
    return {"kind": "retention", "timezone": timezone, "period": unit, "cohorts": cohorts}


# --------------------------------------------------------------------------- stickiness
def stickiness(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Stickiness': users by number of distinct active buckets in the range."""
    timezone = timezone_of(query, project_timezone)
    unit = query.interval
    active: dict[str, set[Bucket]] = defaultdict(set)
    for e in events:
        if (in_range(e, query.date_from, query.date_to, timezone)
                and selects(e, query.event, query.filters)):
            active[e["distinct_id"]].add(event_bucket(e, unit, timezone))
    n_buckets = len(buckets_touching(query.date_from, query.date_to, unit))
    histogram = Counter(len(b) for b in active.values())
    return {
        "kind": "stickiness", "timezone": timezone, "interval": unit, "buckets": n_buckets,
        "stickiness": [{"buckets_active": k, "users": histogram.get(k, 0)}
                       for k in range(1, n_buckets + 1)],
    }


# --------------------------------------------------------------------------- lifecycle
def lifecycle(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Lifecycle': new / returning / resurrecting / dormant over full buckets.

    Activity is read from every matching event in the store (no date-range cut), because
    buckets are full buckets and b − 1 / the first bucket look before ``date_from``.
    """
    timezone = timezone_of(query, project_timezone)
    unit = query.interval
    active: dict[str, set[Bucket]] = defaultdict(set)
    for e in events:
        if selects(e, query.event, query.filters):
            active[e["distinct_id"]].add(event_bucket(e, unit, timezone))
    first = {u: min(b) for u, b in active.items()}
    rows = []
    for b in buckets_touching(query.date_from, query.date_to, unit):
        before = shift(b, unit, -1)
        row = {"date": label(b, unit), "new": 0, "returning": 0, "resurrecting": 0, "dormant": 0}
        for user, buckets in active.items():
            now, prev = b in buckets, before in buckets
            if now and first[user] == b:
                row["new"] += 1
            elif now and prev:
                row["returning"] += 1
            elif now:
                row["resurrecting"] += 1
            elif prev:
                row["dormant"] -= 1
        rows.append(row)
    return {"kind": "lifecycle", "timezone": timezone, "interval": unit, "buckets": rows}


# --------------------------------------------------------------------------- paths
def paths(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Paths': links and drop-off after (before) each user's anchor event."""
    timezone = timezone_of(query, project_timezone)
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if in_range(e, query.date_from, query.date_to, timezone) and filters_hold(e, query.filters):
            by_user[e["distinct_id"]].append(e)
    links: Counter[tuple[int, str, str]] = Counter()
    dropoff: Counter[tuple[int, str]] = Counter()
    users = 0
    excluded = set(query.exclude_events)
    for evs in by_user.values():
        ordered = sorted(evs, key=lambda e: (e["timestamp"], str(e["uuid"])))
        anchors = [i for i, e in enumerate(ordered) if selects(e, query.event, [])]
        if not anchors:
            continue
        users += 1
        if query.direction == "after":
            at = anchors[0]
            rest = ordered[at + 1:]
        else:
            at = anchors[-1]
            rest = ordered[:at][::-1]
        path = [ordered[at]["event"]] + [e["event"] for e in rest if e["event"] not in excluded]
        path = path[: query.steps + 1]
        for d in range(1, len(path)):
            links[(d, path[d - 1], path[d])] += 1
        end = len(path) - 1
        if end < query.steps:
            dropoff[(end, path[end])] += 1
    return {
        "kind": "paths", "timezone": timezone, "event": query.event, "direction": query.direction,
        "users": users,
        "links": [{"depth": d, "source": s, "target": t, "users": n}
                  for (d, s, t), n in sorted(links.items())],
        "dropoff": [{"depth": d, "event": ev, "users": n}
                    for (d, ev), n in sorted(dropoff.items())],
    }


# --------------------------------------------------------------------------- overview
def previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """Docs 'Overview': the same number of days ending the day before ``date_from``."""
    days = (date_to - date_from).days + 1
    return date_from - dt.timedelta(days=days), date_from - dt.timedelta(days=1)


def _days(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]


def _change(value: float | None, before: float | None) -> float | None:
    """(value − before) ÷ before; null when before is 0 or null (or value is null)."""
    if value is None or before is None or before == 0:
        return None
    return (value - before) / before


def overview(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """Docs 'Overview': each key number over P and over the previous period Q, and the change.

    Direct loops over the events for dau/wau/mau/new users/revenue/next-day retention; the
    conversion reuses this module's brute-force :func:`funnel` (its chains), and
    ``daily_active`` this module's :func:`trends`. Nothing is read from the runners.

    DOC GAP: the result's shape (``kpis`` as ``{"key", "value", "previous", "change", "unit"}``
    in the table's order, ``unit`` users/money/fraction, ``previous_from``/``previous_to``) is
    not in docs/metrics.md; it is taken from the runner. The default of ``conversion.window``
    is not stated either (Funnel's is 14d); the document model's default (1d) is read from
    the parsed query.
    """
    timezone = timezone_of(query, project_timezone)
    kept = [e for e in events if filters_hold(e, query.filters)]  # top-level filters: every read
    day_of = [local_date(e["timestamp"], timezone) for e in kept]
    users_on: dict[dt.date, set[str]] = defaultdict(set)
    first_ts: dict[str, dt.datetime] = {}
    for e, day in zip(kept, day_of, strict=True):
        users_on[day].add(e["distinct_id"])
        user = e["distinct_id"]
        first_ts[user] = min(first_ts.get(user, e["timestamp"]), e["timestamp"])
    first_day = {u: local_date(t, timezone) for u, t in first_ts.items()}

    def distinct_users(a: dt.date, b: dt.date) -> float:
        return float(len({e["distinct_id"] for e, day in zip(kept, day_of, strict=True) if a <= day <= b}))

    def dau(a: dt.date, b: dt.date) -> float | None:
        counts = [len(users_on.get(d, ())) for d in _days(a, b)]
        return sum(counts) / len(counts)

    def wau(a: dt.date, b: dt.date) -> float | None:
        return distinct_users(b - dt.timedelta(days=6), b)

    def mau(a: dt.date, b: dt.date) -> float | None:
        return distinct_users(b - dt.timedelta(days=29), b)

    def new_users(a: dt.date, b: dt.date) -> float | None:
        return float(sum(1 for d in first_day.values() if a <= d <= b))

    def revenue(a: dt.date, b: dt.date) -> float | None:
        if query.revenue is None:
            return None
        numbers = [n for e, day in zip(kept, day_of, strict=True)
                   if a <= day <= b and selects(e, query.revenue.event, [])
                   and (n := numeric_value(prop(e, query.revenue.property))) is not None]
        return float(math.fsum(numbers))

    def conversion(a: dt.date, b: dt.date) -> float | None:
        if query.conversion is None:
            return None
        document = _Namespace(
            steps=[_Namespace(event=name, filters=[]) for name in query.conversion.steps],
            window=query.conversion.window, breakdown=None, breakdown_limit=25,
            filters=query.filters, date_from=a, date_to=b, timezone=timezone)
        steps = funnel(events, document, project_timezone)["steps"]
        first, last = steps[0]["count"], steps[-1]["count"]
        return last / first if first else None

    def retention_d1(a: dt.date, b: dt.date) -> float | None:
        first_in_range: dict[str, Event] = {}  # cohort: the local day of this event
        active: set[tuple[str, dt.date]] = set()
        for e, day in zip(kept, day_of, strict=True):
            if a <= day <= b:
                user = e["distinct_id"]
                active.add((user, day))
                if user not in first_in_range or e["timestamp"] < first_in_range[user]["timestamp"]:
                    first_in_range[user] = e
        cohort = {u: local_date(e["timestamp"], timezone) for u, e in first_in_range.items()}
        counted = [(u, c) for u, c in cohort.items() if c < b]  # the next day is in the range
        size = len(counted)
        back = sum(1 for u, c in counted if (u, c + dt.timedelta(days=1)) in active)
        return back / size if size else None

    p_from, p_to = query.date_from, query.date_to
    q_from, q_to = previous_period(p_from, p_to)
    metrics: list[tuple[str, str, Callable[[dt.date, dt.date], float | None]]] = [
        ("dau", "users", dau), ("wau", "users", wau), ("mau", "users", mau),
        ("new_users", "users", new_users), ("revenue", "money", revenue),
        ("conversion", "fraction", conversion), ("retention_d1", "fraction", retention_d1),
    ]
    kpis = []
    for key, unit, compute in metrics:
        value = compute(p_from, p_to)
        before = compute(q_from, q_to)
        kpis.append({"key": key, "value": value, "previous": before,
                     "change": _change(value, before), "unit": unit})
    daily = _Namespace(
        series=[_Namespace(event=ANY_EVENT, math="unique_users", property=None, filters=[])],
        interval="day", breakdown=None, breakdown_limit=25, compare=True, formula=None,
        filters=query.filters, date_from=p_from, date_to=p_to, timezone=timezone)
    return {
        "kind": "overview", "timezone": timezone,
        "date_from": p_from.isoformat(), "date_to": p_to.isoformat(),
        "previous_from": q_from.isoformat(), "previous_to": q_to.isoformat(),
        "kpis": kpis, "daily_active": trends(events, daily, project_timezone),
    }


# --------------------------------------------------------------------------- dispatch
ORACLES: dict[str, Callable[[list[Event], Any, str], JSON]] = {
    "trends": trends,
    "funnel": funnel,
    "retention": retention,
    "stickiness": stickiness,
    "lifecycle": lifecycle,
    "paths": paths,
    "overview": overview,
}


def run_oracle(events: list[Event], query: Any, project_timezone: str) -> JSON:
    """The oracle's result for a validated document ``query`` (JSON shape of ``to_json()``)."""
    return ORACLES[query.kind](events, query, project_timezone)


# --------------------------------------------------------------------------- comparing
def normalise(result: JSON) -> JSON:
    """Sort the lists whose order docs/metrics.md leaves open (paths' links and drop-off)."""
    if result.get("kind") == "paths":
        result = {
            **result,
            "links": sorted(result["links"], key=lambda r: (r["depth"], r["source"], r["target"])),
            "dropoff": sorted(result["dropoff"], key=lambda r: (r["depth"], r["event"])),
        }
    return result


def differences(actual: Any, expected: Any, where: str = "$", rel: float = 1e-9,
                absolute: float = 1e-9) -> list[str]:
    """Where ``actual`` and ``expected`` differ; floats within ``rel`` (or ``absolute``)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if actual is expected else [f"{where}: {actual!r} != {expected!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, int) and isinstance(actual, int):  # counts: exact
            ok = actual == expected
        elif math.isnan(expected) or math.isnan(actual):
            ok = math.isnan(expected) and math.isnan(actual)
        else:
            ok = math.isclose(actual, expected, rel_tol=rel, abs_tol=absolute)
        return [] if ok else [f"{where}: {actual!r} != {expected!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(actual) | set(expected), key=str):
            if key not in actual or key not in expected:
                out.append(f"{where}.{key}: missing on the "
                           f"{'runner' if key not in actual else 'oracle'} side")
                continue
            out += differences(actual[key], expected[key], f"{where}.{key}", rel, absolute)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return [f"{where}: {len(actual)} items != {len(expected)}: {actual!r} != {expected!r}"]
        return [d for i, (a, e) in enumerate(zip(actual, expected, strict=True))
                for d in differences(a, e, f"{where}[{i}]", rel, absolute)]
    return [] if actual == expected else [f"{where}: {actual!r} != {expected!r}"]


def assert_same(actual: JSON, expected: JSON) -> None:
    """Assert the runner's result equals the oracle's (floats within 1e-9 relative)."""
    diffs = differences(normalise(actual), normalise(expected))
    assert not diffs, "runner (left) != oracle (right):\n  " + "\n  ".join(diffs[:20])
