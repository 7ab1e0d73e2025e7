"""Experiment statistics against a brute-force oracle written from docs/experiments.md only.

The oracle below reads a list of events (plain dicts, as in tests/oracle.py) in plain Python —
no ibis, no database, no numpy — and follows the definitions literally: who is exposed when,
who is excluded, which events count, capping, the CUPED covariate, the breakdown, and the sums
of every arm. Hypothesis draws small logs that hit the hard cases (exposures to two variants,
events before exposure, at the exact window end, at local midnight of the first and last day
and of the pre-period, ties with the exposure instant, merged persons, DST days, non-numeric
values) and random experiments; ``yunying.experiments.experiment_data`` must give the oracle's
statistics on the same events, through both reading paths (with and without the semi-join).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import oracle
import pytest
from conftest import events_to_arrow
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies import CENTRES, examples, to_utc

from yunying.experiments import metric_values
from yunying.experiments.definition import Experiment, parse_experiment
from yunying.experiments.metrics import ExperimentData, experiment_data
from yunying.ingest.writer import write_events
from yunying.insights.base import QueryContext
from yunying.stats.summary import Adjusted, Moments, Proportion, Quantile, Ratio
from yunying.store import connect

Event = dict[str, Any]
KEY = "exp-1"
Z_975 = 1.959963984540054
CUPED = ("conversion", "count", "sum")  # the kinds that take a pre-period covariate


# ============================================================================ the oracle
def _local_date(ts: dt.datetime, timezone: str) -> dt.date:
    return oracle.local_date(ts, timezone)


def _hash_variant(key: str, user_id: str, weights: list[float]) -> int:
    """docs 'Assignment by hashing', compared exactly with fractions."""
    h = int.from_bytes(hashlib.sha256(f"{key}:{user_id}".encode()).digest()[:8], "big")
    running, sums = 0.0, []
    for w in weights:
        running += w
        sums.append(running)
    for i, s in enumerate(sums):
        if Fraction(h, 2**64) < Fraction(s / running):
            return i
    return len(weights) - 1


@dataclass
class User:
    person: str
    first: dt.datetime
    variants: set[int] = field(default_factory=set)
    values: list[str | None] = field(default_factory=list)  # breakdown values at ``first``


def _exposures(events: list[Event], person_of: dict[str, str], exp: Experiment, timezone: str,
               date_from: dt.date, date_to: dt.date, breakdown: str | None) -> dict[str, User]:
    """docs 'Who is in the experiment': person -> User (first exposure, variants, values)."""
    users: dict[str, User] = {}
    rule = exp.assignment
    weights = [v.weight for v in exp.variants]
    candidates = []  # (person, ts, variant, value, distinct_id)
    for e in events:
        if not date_from <= _local_date(e["timestamp"], timezone) <= date_to:
            continue
        value = oracle.prop(e, breakdown) if breakdown else None
        if rule.kind == "exposure_event":
            if not oracle.selects(e, rule.event, rule.filters):
                continue
            if rule.experiment_property is not None and \
                    oracle.prop(e, rule.experiment_property) != exp.experiment_value:
                continue
            named = oracle.prop(e, rule.variant_property)
            variant = next((i for i, v in enumerate(exp.variants) if v.exposure_value == named), None)
            if variant is None:
                continue
        else:
            if not oracle.selects(e, rule.trigger_event, rule.filters):
                continue
            variant = -1  # decided below from the first trigger's distinct_id
        candidates.append((person_of[e["distinct_id"]], e["timestamp"], variant, value, e["distinct_id"]))
    for person in {c[0] for c in candidates}:
        mine = [c for c in candidates if c[0] == person]
        first = min(c[1] for c in mine)
        at_first = [c for c in mine if c[1] == first]
        user = User(person, first, values=[c[3] for c in at_first])
        if rule.kind == "hash":
            user.variants = {_hash_variant(exp.key, min(c[4] for c in at_first), weights)}
        else:
            user.variants = {c[2] for c in mine}
        users[person] = user
    return users


def _breakdown_value(user: User) -> str | None:
    present = [v for v in user.values if v is not None]
    return min(present) if present else None


def _counts(e: Event, event_name: str, filters: Any) -> bool:
    return oracle.selects(e, event_name, filters)


def _aggregate(events: list[Event], aggregation: str, prop: str | None) -> float:
    """count: events (with a property: those where it is a number); sum: of its numbers."""
    total = 0.0
    for e in events:
        number = oracle.numeric_value(oracle.prop(e, prop)) if prop is not None else None
        if aggregation == "count":
            total += 1.0 if prop is None or number is not None else 0.0
        elif number is not None:
            total += number
    return total


def _parts(metric: Any) -> list[tuple[str, str, Any, str | None]]:
    """(aggregation, event, filters, property) of the metric's per-user values."""
    kind = metric.kind
    if kind in ("conversion", "count"):
        return [("count", metric.event, metric.filters, None)]
    if kind == "sum":
        return [("sum", metric.event, metric.filters, metric.property)]
    if kind == "quantile":
        return [("sum" if metric.property else "count", metric.event, metric.filters, metric.property)]
    if kind == "mean":
        return [("sum", metric.event, metric.filters, metric.property),
                ("count", metric.event, metric.filters, metric.property)]
    return [(a.aggregation, a.event, a.filters, a.property) for a in (metric.numerator, metric.denominator)]


def _window(metric: Any) -> dt.timedelta | None:
    seconds = metric.window_seconds
    return None if seconds is None else dt.timedelta(seconds=seconds)


def _user_values(metric: Any, user: User, by_person: dict[str, list[Event]], timezone: str,
                 dates: tuple[dt.date, dt.date], pre: tuple[dt.date, dt.date] | None
                 ) -> tuple[list[float], list[float] | None]:
    """docs 'Metrics': the user's value(s) after exposure, and in the pre-period."""
    window = _window(metric)
    mine = by_person.get(user.person, [])
    post, before = [], []
    for aggregation, name, filters, prop in _parts(metric):
        counting = [e for e in mine if _counts(e, name, filters)
                    and dates[0] <= _local_date(e["timestamp"], timezone) <= dates[1]
                    and user.first <= e["timestamp"]
                    and (window is None or e["timestamp"] <= user.first + window)]
        post.append(_aggregate(counting, aggregation, prop))
        if pre is not None:
            earlier = [e for e in mine if _counts(e, name, filters)
                       and pre[0] <= _local_date(e["timestamp"], timezone) <= pre[1]]
            before.append(_aggregate(earlier, aggregation, prop))
    if metric.kind == "conversion":
        post = [1.0 if post[0] > 0 else 0.0]
        before = [1.0 if b > 0 else 0.0 for b in before]
    return post, (before if pre is not None else None)


def _cap(capping: Any, values: list[float]) -> float | None:
    if capping is None:
        return None
    if capping.value is not None:
        return capping.value
    return oracle.quantile(values, capping.percentile) if values else None


def _rank(n: int, q: float) -> int:
    return min(n, max(1, math.ceil(n * q - 1e-9)))


def _quantile(values: list[float], level: float) -> Quantile:
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return Quantile(0, 0, level, 0.0, 0.0, 0.0)
    half = Z_975 * math.sqrt(level * (1 - level) / n)
    low, high = max(0.0, level - half), min(1.0, level + half)
    return Quantile(n, n, level, xs[_rank(n, level) - 1], xs[_rank(n, low) - 1], xs[_rank(n, high) - 1])


def _moments(xs: list[float], proportion: bool) -> Moments | Proportion:
    if proportion:
        return Proportion(len(xs), sum(xs))
    return Moments(len(xs), sum(xs), sum(x * x for x in xs))


def _statistic(metric: Any, rows: list[tuple[list[float], list[float] | None]], cap: float | None,
               pre_cap: float | None, cuped: bool) -> Any:
    """docs 'Sufficient statistics' for the users of one arm (rows: their values)."""
    if metric.kind == "quantile":
        values = [post[0] for post, _ in rows]
        if metric.ignore_zeros:
            values = [v for v in values if v != 0]
        return _quantile(values, metric.level)
    main = [post[0] if cap is None else min(post[0], cap) for post, _ in rows]
    if metric.kind in ("mean", "ratio"):
        den = [post[1] for post, _ in rows]
        products = sum(a * b for a, b in zip(main, den, strict=True))
        return Ratio(_moments(main, False), _moments(den, False), products)
    proportion = metric.kind == "conversion"
    if not cuped:
        return _moments(main, proportion)
    pre = [before[0] if pre_cap is None else min(before[0], pre_cap) for _, before in rows]  # type: ignore[index]
    products = sum(a * b for a, b in zip(main, pre, strict=True))
    return Adjusted(_moments(main, proportion), _moments(pre, proportion), products)


def oracle_data(events: list[Event], person_of: dict[str, str], exp: Experiment, timezone: str,
                data_end: dt.date, breakdown: str | None, limit: int) -> dict[str, Any]:
    """The experiment's statistics from the definitions, as a plain dict (see ``_as_dict``)."""
    end = max(exp.end or data_end, exp.start)
    dates = (exp.start, end)
    uses_pre = exp.analysis.cuped and any(m.kind in CUPED for _, m in exp.metrics.all())
    pre = (exp.start - dt.timedelta(days=exp.analysis.pre_period_days), exp.start - dt.timedelta(days=1)) \
        if uses_pre else None
    users = _exposures(events, person_of, exp, timezone, *dates, breakdown)
    included = {p: u for p, u in users.items() if len(u.variants) == 1}
    by_person: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_person[person_of[e["distinct_id"]]].append(e)
    values = {m.key: {p: _user_values(m, u, by_person, timezone, dates, pre) for p, u in included.items()}
              for _, m in exp.metrics.all()}
    caps = {}
    for _, m in exp.metrics.all():
        capping = getattr(m, "capping", None)
        cap = _cap(capping, [post[0] for post, _ in values[m.key].values()])
        pre_cap = _cap(capping, [b[0] for _, b in values[m.key].values() if b is not None]) \
            if pre is not None and m.kind in ("count", "sum") else None
        caps[m.key] = (cap, pre_cap)

    def group(members: dict[str, User], value: str | None) -> dict[str, Any]:
        arms = range(len(exp.variants))
        in_arm = {a: [p for p, u in members.items() if u.variants == {a}] for a in arms}
        stats = {}
        for _, m in exp.metrics.all():
            cuped = pre is not None and m.kind in CUPED
            stats[m.key] = [_statistic(m, [values[m.key][p] for p in in_arm[a]], *caps[m.key], cuped)
                            for a in arms]
        return {"value": value, "users": [len(in_arm[a]) for a in arms], "statistics": stats}

    result = {"excluded": len(users) - len(included), "overall": group(included, None), "groups": [],
              "caps": {k: c for k, (c, _) in caps.items() if c is not None}}
    if breakdown:
        sizes: dict[str | None, int] = defaultdict(int)
        for u in included.values():
            sizes[_breakdown_value(u)] += 1
        ranked = oracle.rank_values(sizes)
        kept, folded = ranked[:limit], ranked[limit:]
        result["groups"] = [group({p: u for p, u in included.items() if _breakdown_value(u) == v}, v)
                            for v in kept]
        if folded:
            result["groups"].append(group({p: u for p, u in included.items()
                                           if _breakdown_value(u) in folded}, "$other"))
    return result


# ============================================================================ comparing
def _as_dict(data: ExperimentData) -> dict[str, Any]:
    def group(g: Any) -> dict[str, Any]:
        return {"value": g.value, "users": list(g.users),
                "statistics": {k: list(v) for k, v in g.statistics.items()}}
    return {"excluded": data.excluded_users, "overall": group(data.overall),
            "groups": [group(g) for g in data.groups], "caps": data.caps}


def _differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(actual, int | float) and isinstance(expected, int | float) and \
                math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9):
            return []
        return [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or actual.keys() != expected.keys():
            return [f"{path}: keys {sorted(actual)} != {sorted(expected)}"]
        return [d for k in expected for d in _differences(actual[k], expected[k], f"{path}.{k}")]
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            return [f"{path}: {actual!r} != {expected!r}"]
        return [d for i, (a, b) in enumerate(zip(actual, expected, strict=True))
                for d in _differences(a, b, f"{path}[{i}]")]
    if hasattr(expected, "__dataclass_fields__"):
        if type(actual) is not type(expected):
            return [f"{path}: {type(actual).__name__} != {type(expected).__name__}"]
        return [d for name in expected.__dataclass_fields__
                for d in _differences(getattr(actual, name), getattr(expected, name), f"{path}.{name}")]
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


def assert_same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    diffs = _differences(actual, expected)
    assert not diffs, "engine (left) != oracle (right):\n  " + "\n  ".join(diffs[:20])


# ============================================================================ random logs
DIDS = ("u1", "u2", "u3", "u4", "用户5", "u6")
VARIANT_KEYS = ("control", "green", "blue")
PLANS = ("free", "pro", "中文", None, 7, 2.5)
AMOUNTS = (1, 2.5, 10, 100, "12", " 7", "abc", None, -3, 1e3)
ZONES = ("Asia/Shanghai", "America/New_York", "Europe/Berlin")
NUDGES = (dt.timedelta(0), dt.timedelta(0), dt.timedelta(microseconds=1), dt.timedelta(microseconds=-1))


@dataclass
class Scenario:
    timezone: str
    start: dt.date
    events: list[Event]
    merges: list[tuple[str, str]]  # (distinct_id, joins the person of this distinct_id)
    experiment: dict[str, Any]
    data_end: dt.date
    breakdown: str | None
    breakdown_limit: int
    semi_join: bool
    by_person: bool = False


_uuids = (f"00000000-0000-4000-8000-{i:012d}" for i in itertools.count())


@st.composite
def instants(draw: st.DrawFn, timezone: str, start: dt.date,
             days: tuple[int, ...] = (-3, -2, -1, -1, 0, 0, 0, 1, 1, 2, 3)) -> dt.datetime:
    """Mostly the boundaries: local midnights around the dates and the pre-period, the last
    microsecond of a day, a few fixed hours (ties), and exposure + window ends."""
    day = start + dt.timedelta(days=draw(st.sampled_from(days)))
    clock = draw(st.sampled_from([dt.time(0), dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999_999),
                                  dt.time(9), dt.time(10), dt.time(12), dt.time(1, 30), dt.time(2, 30)]))
    local = dt.datetime.combine(day, clock) + draw(st.sampled_from([dt.timedelta(0)] * 4
                                                                   + [dt.timedelta(hours=1)]))
    return to_utc(local, timezone, fold=draw(st.integers(0, 1)))


@st.composite
def metrics(draw: st.DrawFn, key: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conversion", "count", "sum", "mean", "ratio", "quantile"]))
    metric: dict[str, Any] = {"key": key, "kind": kind}
    event_name = draw(st.sampled_from(["pay", "pay", "open", "$any"]))
    if draw(st.integers(0, 2)) == 0:
        metric["window"] = draw(st.sampled_from(["1h", "1d", "90m"]))
    if kind == "ratio":
        metric["numerator"] = {"aggregation": "sum", "event": "pay", "property": "amount"}
        metric["denominator"] = draw(st.sampled_from([
            {"aggregation": "count", "event": "open"},
            {"aggregation": "count", "event": "$any",
             "filters": [{"property": "plan", "operator": "is_set"}]},
            {"aggregation": "sum", "event": "pay", "property": "qty"}]))
    else:
        metric["event"] = event_name
        if draw(st.integers(0, 3)) == 0:
            metric["filters"] = [{"property": "plan", "operator": "neq", "value": "free"}]
    if kind in ("sum", "mean"):
        metric["property"] = "amount"
    if kind == "quantile":
        if draw(st.booleans()):
            metric["property"] = "amount"
        metric["level"] = draw(st.sampled_from([0.5, 0.9, 0.1]))
        metric["ignore_zeros"] = draw(st.booleans())
    if kind in ("count", "sum", "mean", "ratio") and draw(st.booleans()):
        metric["capping"] = draw(st.sampled_from([{"percentile": 0.5}, {"percentile": 0.9}, {"value": 5}]))
    return metric


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    timezone = draw(st.sampled_from(ZONES))
    start = draw(st.sampled_from(CENTRES[timezone]))
    n_variants = draw(st.integers(2, 3))
    variants = [{"key": VARIANT_KEYS[i], "weight": draw(st.sampled_from([1, 1, 2, 0.5]))}
                for i in range(n_variants)]
    hashed = draw(st.integers(0, 3)) == 0
    assignment: dict[str, Any] = {"kind": "hash", "trigger_event": draw(st.sampled_from(["$any", "open"]))} \
        if hashed else {"kind": "exposure_event"}
    if not hashed and draw(st.integers(0, 4)) == 0:
        assignment["experiment_property"] = None
    n_metrics = draw(st.integers(1, 3))
    all_metrics = [draw(metrics(f"m{i}")) for i in range(n_metrics)]
    end = draw(st.sampled_from([None, start, start + dt.timedelta(days=1), start + dt.timedelta(days=2)]))
    experiment = {
        "key": KEY, "name": "Test", "variants": variants, "assignment": assignment,
        "start": start.isoformat(), "end": end.isoformat() if end else None,
        "metrics": {"primary": all_metrics[:1], "secondary": all_metrics[1:]},
        "analysis": {"cuped": draw(st.booleans()), "pre_period_days": draw(st.integers(1, 3))},
    }
    windows = [dt.timedelta(seconds=m.window_seconds) for _, m in parse_experiment(experiment).metrics.all()
               if m.window_seconds] or [dt.timedelta(0)]
    events: list[Event] = []

    def add(did: str, name: str, when: dt.datetime) -> None:
        props: dict[str, Any] = {}
        if draw(st.booleans()):
            props["plan"] = draw(st.sampled_from(PLANS))
        if draw(st.booleans()):
            props["$browser"] = draw(st.sampled_from(["Chrome", "Safari"]))
        if name == "$feature_flag_called":
            props["$feature_flag"] = draw(st.sampled_from([KEY] * 6 + ["other"]))
            props["$feature_flag_response"] = draw(st.sampled_from([*VARIANT_KEYS[:n_variants], "control",
                                                                    "control", "unknown"]))
        if name == "pay":
            if draw(st.integers(0, 4)):
                props["amount"] = draw(st.sampled_from(AMOUNTS))
            if draw(st.booleans()):
                props["qty"] = draw(st.integers(0, 3))
        events.append({"uuid": next(_uuids), "event": name, "distinct_id": did, "timestamp": when,
                       "properties": props})

    for did in DIDS:
        if not draw(st.integers(0, 4)):
            continue  # mostly exposed in the dates, sometimes twice at one instant, sometimes later
        first = draw(instants(timezone, start, (0, 0, 0, 1, 2)))
        add(did, "$feature_flag_called", first)
        if draw(st.booleans()):
            again = first if draw(st.booleans()) else draw(instants(timezone, start))
            add(did, "$feature_flag_called", again)
        for _ in range(draw(st.integers(0, 2))):  # the exposure's instant, a window's end, a µs around it
            shift = draw(st.sampled_from([dt.timedelta(0), *windows]))
            add(did, draw(st.sampled_from(["pay", "open"])), first + shift + draw(st.sampled_from(NUDGES)))
    for _ in range(draw(st.integers(0, 20))):
        add(draw(st.sampled_from(DIDS)), draw(st.sampled_from(["$feature_flag_called", "pay", "pay", "pay",
                                                              "open", "open", "view"])),
            draw(instants(timezone, start)))
    present = sorted({e["distinct_id"] for e in events})
    merges = []
    if len(present) >= 2 and draw(st.booleans()):
        a, b = draw(st.permutations(present))[:2]
        merges.append((a, b))
    return Scenario(timezone, start, events, merges, experiment,
                    data_end=start + dt.timedelta(days=draw(st.integers(-1, 2))),
                    breakdown=draw(st.sampled_from([None, "plan", "plan", "$browser"])),
                    breakdown_limit=draw(st.sampled_from([1, 2, 20])), semi_join=draw(st.booleans()),
                    by_person=draw(st.booleans()))


# ============================================================================ the store
_projects = (f"x{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def store():
    shared = connect(":memory:")
    yield shared
    shared.close()


def load(store: Any, scenario: Scenario) -> tuple[QueryContext, dict[str, str]]:
    """The scenario's events as a new project; merges re-map person ids as the writer does."""
    project = store.create_project(next(_projects), scenario.timezone)
    if scenario.events:
        write_events(store, project, events_to_arrow(scenario.events))
    con = store.duckdb
    person_of = {d: d for d in DIDS}
    for source, target in scenario.merges:
        con.execute("UPDATE events SET person_id = (SELECT person_id FROM persons WHERE project_id = $p AND "
                    "distinct_id = $t) WHERE project_id = $p AND distinct_id = $s",
                    {"p": project.project_id, "s": source, "t": target}).fetchall()
        con.execute("UPDATE persons SET person_id = (SELECT person_id FROM persons WHERE project_id = $p AND "
                    "distinct_id = $t) WHERE project_id = $p AND distinct_id = $s",
                    {"p": project.project_id, "s": source, "t": target}).fetchall()
        for d, p in person_of.items():
            if p == source:
                person_of[d] = target
    return QueryContext(store, project), person_of


def check(store: Any, scenario: Scenario) -> dict[str, Any]:
    ctx, person_of = load(store, scenario)
    experiment = parse_experiment(scenario.experiment)
    with pytest.MonkeyPatch.context() as patch:  # both ways of reading the rows and of keeping totals
        patch.setattr(metric_values, "SEMI_JOIN_MAX_USERS", 10**9 if scenario.semi_join else -1)
        patch.setattr(metric_values, "BY_PERSON_MAX_SPREAD", 10**9 if scenario.by_person else 0)
        actual = experiment_data(ctx, experiment, breakdown=scenario.breakdown,
                                 breakdown_limit=scenario.breakdown_limit, end=scenario.data_end)
    expected = oracle_data(scenario.events, person_of, experiment, scenario.timezone, scenario.data_end,
                           scenario.breakdown, scenario.breakdown_limit)
    assert_same(_as_dict(actual), expected)
    leftover = ctx.store.duckdb.sql("SELECT view_name FROM duckdb_views() WHERE view_name LIKE '%memtable%'")
    assert leftover.fetchall() == []  # the semi-join's persons are not left registered on the connection
    return expected


@settings(max_examples=examples(60))
@given(scenario=scenarios())
def test_statistics_match_the_oracle(store, scenario):
    expected = check(store, scenario)
    users = sum(expected["overall"]["users"])
    event(f"users: {min(users, 3)}{'+' if users >= 3 else ''}; excluded: {bool(expected['excluded'])}")


@pytest.mark.parametrize("fast_paths", [False, True])
def test_oracle_agrees_on_a_fixed_busy_log(store, fast_paths):
    """Every metric kind with capping, CUPED and a breakdown on one log with ties at the exposure."""
    tz = "Asia/Shanghai"
    start = dt.date(2024, 1, 1)

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return to_utc(dt.datetime.combine(start + dt.timedelta(days=day), dt.time(hour, minute)), tz)

    rows = [("u1", "$feature_flag_called", at(0, 9),
             {"$feature_flag": KEY, "$feature_flag_response": "control", "plan": "pro"}),
            ("u1", "pay", at(0, 9), {"amount": 30}), ("u1", "pay", at(-1, 9), {"amount": 5}),
            ("u1", "open", at(0, 10), {}), ("u2", "$feature_flag_called", at(0, 11),
                                             {"$feature_flag": KEY, "$feature_flag_response": "green"}),
            ("u2", "pay", at(0, 10), {"amount": 99}), ("u2", "pay", at(1, 11), {"amount": "20"}),
            ("u2", "open", at(1, 0), {}), ("u3", "$feature_flag_called", at(1, 8),
                                           {"$feature_flag": KEY, "$feature_flag_response": "green"}),
            ("u3", "$feature_flag_called", at(1, 9),
             {"$feature_flag": KEY, "$feature_flag_response": "control"}),
            ("u4", "$feature_flag_called", at(1, 8), {"$feature_flag": KEY, "$feature_flag_response": "green",
                                                       "plan": "free"}),
            ("u4", "$feature_flag_called", at(1, 8), {"$feature_flag": KEY, "$feature_flag_response": "green",
                                                       "plan": "basic"}),
            ("u4", "pay", at(2, 8), {"amount": 7}), ("u4", "pay", at(2, 8, 1), {"amount": 1000})]
    events = [{"uuid": next(_uuids), "distinct_id": d, "event": n, "timestamp": t, "properties": p}
              for d, n, t, p in rows]
    metric_list = [{"key": "paid", "kind": "conversion", "event": "pay", "window": "1d"},
                   {"key": "revenue", "kind": "sum", "event": "pay", "property": "amount",
                    "capping": {"percentile": 0.5}},
                   {"key": "per_open", "kind": "ratio", "numerator": {"aggregation": "sum", "event": "pay",
                                                                      "property": "amount"},
                    "denominator": {"aggregation": "count", "event": "open"}},
                   {"key": "avg", "kind": "mean", "event": "pay", "property": "amount"},
                   {"key": "p50", "kind": "quantile", "event": "pay", "property": "amount"}]
    experiment = {"key": KEY, "name": "x", "variants": [{"key": "control"}, {"key": "green"}],
                  "start": "2024-01-01", "end": "2024-01-03",
                  "metrics": {"primary": metric_list[:1], "secondary": metric_list[1:]}}
    scenario = Scenario(tz, start, events, [], experiment, start, "plan", 20, fast_paths, fast_paths)
    expected = check(store, scenario)
    assert expected["excluded"] == 1  # u3 saw both variants
    assert expected["overall"]["users"] == [1, 2]
    paid = expected["overall"]["statistics"]["paid"]
    # u1 paid at the exposure's very instant; u2 one day after (the window's end counts), and
    # u2's payment an hour before its exposure does not; u4 paid at the window's end too
    assert paid[0].post == Proportion(1, 1.0) and paid[1].post == Proportion(2, 2.0)
    assert paid[0].pre == Proportion(1, 1.0)  # u1's payment the day before the start
    # u4's two exposures at one instant: the smaller plan; u2's has none (null sorts last)
    assert [(g["value"], g["users"]) for g in expected["groups"]] == [("basic", [0, 1]), ("pro", [1, 0]),
                                                                       (None, [0, 1])]
