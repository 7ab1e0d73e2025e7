"""The overview insight against its brute-force oracle, by hand, and the relative date ranges.

Definitions: docs/metrics.md 'Overview' and 'Relative date ranges'. The oracle
(tests/oracle.py ``overview``) counts dau/wau/mau/new users/revenue/next-day retention by
direct loops over the events; the property test compares it with the runner on random logs
from tests/strategies.py, the hand-checked examples pin the numbers on a tiny log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import oracle
import pytest
from conftest import LoadedLog, LogLoader
from hypothesis import event, given, settings
from strategies import Case, cases, examples, to_utc

from yunying.insights.relative import PRESETS, fixed, previous, resolve


# ----------------------------------------------------------------------------- property test
@settings(max_examples=examples(40))
@given(case=cases("overview"))
def test_overview_matches_oracle(load_log: LogLoader, case: Case) -> None:
    log = load_log(case.scenario.events, case.scenario.timezone)
    expected = log.oracle(case.document)
    oracle.assert_same(log.run(case.document), expected)
    # Coverage (--hypothesis-show-statistics): how often each number is defined in both periods.
    for kpi in expected["kpis"]:
        if kpi["key"] in ("dau", "new_users", "conversion", "retention_d1"):
            event(f"{kpi['key']}: {'change' if kpi['change'] is not None else 'no change'}")


# ----------------------------------------------------------------------------- by hand
ZONE = "Asia/Shanghai"


def _events(rows: list[tuple[str, str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(user, local time in Asia/Shanghai, event, properties) rows as oracle events."""
    return [
        {"uuid": f"00000000-0000-0000-0001-{i:012d}", "distinct_id": user, "event": name,
         "timestamp": to_utc(dt.datetime.fromisoformat(local), ZONE), "properties": props}
        for i, (user, local, name, props) in enumerate(rows)
    ]


TINY = [
    ("dave", "2023-12-20 10:00", "view", {}),  # only in the 30-day windows
    ("alice", "2024-01-01 10:00", "view", {}),  # her first event ever: before both periods
    ("alice", "2024-01-08 10:00", "view", {}),
    ("alice", "2024-01-09 10:00", "buy", {"price": 10}),  # exactly 1d after her view
    ("bob", "2024-01-09 09:00", "view", {}),
    ("bob", "2024-01-10 09:00", "view", {}),
    ("erin", "2024-01-09 20:00", "view", {"price": "abc"}),
    ("carol", "2024-01-10 00:00", "view", {"price": "5"}),  # midnight: belongs to 01-10
    ("carol", "2024-01-10 00:05", "buy", {"price": "2.5"}),
    ("frank", "2024-01-06 08:00", "view", {}),  # frank is only in the earlier days
    ("frank", "2024-01-07 08:00", "view", {}),
    ("frank", "2024-01-07 09:00", "buy", {"price": 4}),  # 25 h after his first view, 1 h after the 2nd
]


@pytest.fixture(scope="module")
def tiny(load_log: LogLoader) -> LoadedLog:
    return load_log(_events(TINY), ZONE)


def _kpis(result: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {k["key"]: (k["value"], k["previous"], k["change"]) for k in result["kpis"]}


def test_tiny_log_by_hand(tiny: LoadedLog) -> None:
    """P = 01-08 … 01-10, Q = 01-05 … 01-07 (only frank in Q itself)."""
    document = {"kind": "overview", "date_from": "2024-01-08", "date_to": "2024-01-10",
                "revenue": {"event": "buy", "property": "price"},
                "conversion": {"steps": ["view", "buy"], "window": "1d"}}
    result = tiny.run(document)
    assert (result["previous_from"], result["previous_to"]) == ("2024-01-05", "2024-01-07")
    kpis = _kpis(result)
    # dau: 01-08 alice; 01-09 alice, bob, erin; 01-10 bob, carol -> (1 + 3 + 2) / 3;
    # Q: 01-05 nobody, 01-06 and 01-07 frank -> 2 / 3.
    assert kpis["dau"] == pytest.approx((2.0, 2 / 3, 2.0))
    # wau: 01-04 … 01-10 -> alice, bob, erin, carol, frank; Q's 12-31 … 01-06: alice (01-01), frank.
    assert kpis["wau"] == (5.0, 2.0, 1.5)
    # mau: 12-12 … 01-10 -> the five and dave; Q's 12-08 … 01-06 -> dave, alice, frank.
    assert kpis["mau"] == (6.0, 3.0, 1.0)
    # new: bob, erin (01-09), carol (01-10), not alice (first event 01-01); Q: frank (01-06).
    assert kpis["new_users"] == (3.0, 1.0, 2.0)
    # revenue: 10 + 2.5 over "buy" only (carol's view price 5 is not revenue); Q: 4.
    assert kpis["revenue"] == (12.5, 4.0, 2.125)
    # conversion view -> buy within 1d: alice (exactly 1d) and carol of the 4 who viewed;
    # Q: frank, by his second view.
    assert kpis["conversion"] == (0.5, 1.0, -0.5)
    # retention_d1: cohorts 01-08 {alice} back on 01-09; 01-09 {bob, erin}, bob back on 01-10;
    # carol's cohort 01-10 is the last day (its next day is outside P) and does not count.
    # Q: cohort 01-06 {frank}, back on 01-07.
    assert kpis["retention_d1"] == pytest.approx((2 / 3, 1.0, -1 / 3))
    daily = result["daily_active"]["series"]
    assert [(s["compare"], s["dates"], s["values"]) for s in daily] == [
        ("current", ["2024-01-08", "2024-01-09", "2024-01-10"], [1.0, 3.0, 2.0]),
        ("previous", ["2024-01-05", "2024-01-06", "2024-01-07"], [0.0, 1.0, 1.0]),
    ]
    oracle.assert_same(result, tiny.oracle(document))


def test_tiny_log_change_against_a_previous_period(tiny: LoadedLog) -> None:
    """P = 01-09 … 01-10, Q = 01-07 … 01-08; without revenue/conversion both are null."""
    document = {"kind": "overview", "date_from": "2024-01-09", "date_to": "2024-01-10"}
    result = tiny.run(document)
    kpis = _kpis(result)
    # dau: P (3 + 2) / 2 = 2.5; Q: 01-07 frank, 01-08 alice -> (1 + 1) / 2 = 1.0.
    assert kpis["dau"] == (2.5, 1.0, 1.5)
    # wau ends on 01-10 and on 01-08: alice, bob, erin, carol, frank vs alice, frank.
    assert kpis["wau"] == (5.0, 2.0, 1.5)
    assert kpis["revenue"] == (None, None, None)
    assert kpis["conversion"] == (None, None, None)
    # retention_d1 P: cohort 01-09 {alice, bob, erin}, only bob is back on 01-10 -> 1/3.
    # Q: cohort 01-07 {frank} is not back on 01-08 -> 0 (not null); alice's cohort 01-08 is Q's
    # last day. A previous value of 0 gives no change.
    assert kpis["retention_d1"][0] == pytest.approx(1 / 3)
    assert kpis["retention_d1"][1:] == (0.0, None)
    assert [k["unit"] for k in result["kpis"]] == [
        "users", "users", "users", "users", "money", "fraction", "fraction"]
    oracle.assert_same(result, tiny.oracle(document))


def test_filters_apply_to_every_number(tiny: LoadedLog) -> None:
    """With ``price > 1`` only frank's buy (01-07), alice's buy (01-09) and carol's two events
    (01-10) pass. P = 01-10, Q = 01-09. "First event ever" means the first *passing* one: alice
    is new in Q."""
    document = {"kind": "overview", "date_from": "2024-01-10", "date_to": "2024-01-10",
                "filters": [{"property": "price", "operator": "gt", "value": 1}],
                "revenue": {"event": "$any", "property": "price"}}
    result = tiny.run(document)
    kpis = _kpis(result)
    assert kpis["dau"] == (1.0, 1.0, 0.0)
    assert kpis["mau"] == (3.0, 2.0, 0.5)  # alice, carol, frank vs alice, frank
    assert kpis["new_users"] == (1.0, 1.0, 0.0)
    assert kpis["revenue"] == (7.5, 10.0, pytest.approx(-0.25))
    assert kpis["retention_d1"] == (None, None, None)  # a one-day period has no next day
    oracle.assert_same(result, tiny.oracle(document))


def test_empty_project(load_log: LogLoader) -> None:
    log = load_log([], ZONE)
    document = {"kind": "overview", "date_from": "2024-03-01", "date_to": "2024-03-31",
                "revenue": {"event": "buy", "property": "price"},
                "conversion": {"steps": ["view", "buy"]}}
    result = log.run(document)
    assert (result["previous_from"], result["previous_to"]) == ("2024-01-30", "2024-02-29")
    assert _kpis(result) == {
        "dau": (0.0, 0.0, None), "wau": (0.0, 0.0, None), "mau": (0.0, 0.0, None),
        "new_users": (0.0, 0.0, None), "revenue": (0.0, 0.0, None),
        "conversion": (None, None, None), "retention_d1": (None, None, None)}
    oracle.assert_same(result, log.oracle(document))


# ----------------------------------------------------------------------------- relative ranges
D = dt.date


@pytest.mark.parametrize(("spec", "today", "expected"), [
    ("last_7d", D(2024, 3, 5), (D(2024, 2, 28), D(2024, 3, 5))),
    ("last_14d", D(2024, 3, 5), (D(2024, 2, 21), D(2024, 3, 5))),
    ("last_30d", D(2024, 3, 5), (D(2024, 2, 5), D(2024, 3, 5))),
    ("last_90d", D(2024, 3, 5), (D(2023, 12, 7), D(2024, 3, 5))),
    ("last_180d", D(2024, 3, 5), (D(2023, 9, 8), D(2024, 3, 5))),
    ("last_7d", D(2024, 1, 3), (D(2023, 12, 28), D(2024, 1, 3))),
    ("this_month", D(2024, 3, 5), (D(2024, 3, 1), D(2024, 3, 5))),
    ("this_month", D(2024, 3, 1), (D(2024, 3, 1), D(2024, 3, 1))),  # on the 1st: one day
    ("this_month", D(2024, 12, 31), (D(2024, 12, 1), D(2024, 12, 31))),
    ("last_month", D(2024, 1, 31), (D(2023, 12, 1), D(2023, 12, 31))),  # across the year
    ("last_month", D(2024, 1, 1), (D(2023, 12, 1), D(2023, 12, 31))),
    ("last_month", D(2024, 3, 31), (D(2024, 2, 1), D(2024, 2, 29))),  # leap February
    ("last_month", D(2023, 3, 1), (D(2023, 2, 1), D(2023, 2, 28))),
    ("last_month", D(2024, 5, 31), (D(2024, 4, 1), D(2024, 4, 30))),
    ("2024-02-27..2024-03-02", D(2030, 1, 1), (D(2024, 2, 27), D(2024, 3, 2))),
    ("2024-02-27..2024-02-27", D(2000, 1, 1), (D(2024, 2, 27), D(2024, 2, 27))),
])
def test_resolve(spec: str, today: dt.date, expected: tuple[dt.date, dt.date]) -> None:
    assert resolve(spec, today) == expected


def test_every_preset_ends_today_and_has_its_length() -> None:
    today = D(2024, 3, 5)
    lengths = {"last_7d": 7, "last_14d": 14, "last_30d": 30, "last_90d": 90, "last_180d": 180,
               "this_month": 5, "last_month": 29}
    assert set(PRESETS) == set(lengths)
    for spec in PRESETS:
        start, end = resolve(spec, today)
        assert (end - start).days + 1 == lengths[spec], spec
        assert end == (today if spec != "last_month" else D(2024, 2, 29)), spec


def test_fixed_round_trips() -> None:
    spec = fixed(D(2024, 1, 31), D(2024, 2, 29))
    assert spec == "2024-01-31..2024-02-29"
    assert resolve(spec, D(1999, 1, 1)) == (D(2024, 1, 31), D(2024, 2, 29))


@pytest.mark.parametrize("spec", [
    "", "last_8d", "last_7", "LAST_7D", "this_week", "yesterday", " last_7d",
    "2024-03-02..2024-02-27",  # ends before it starts
    "2024-02-30..2024-03-01",  # no such day
    "2024-01-01", "2024-01-01..", "..2024-01-01", "2024-01-01...2024-01-02",
    "2024-1-1..2024-1-2", "20240101..20240102", "2024-01-01 .. 2024-01-02",
    "２０２４-01-01..2024-01-02",  # full-width digits are not ASCII digits
    "2024-01-01..2024-01-02\n",  # a trailing newline is not part of a range
])
def test_bad_specs_raise(spec: str) -> None:
    with pytest.raises(ValueError):
        resolve(spec, D(2024, 3, 5))


@pytest.mark.parametrize(("date_from", "date_to", "expected"), [
    (D(2024, 1, 8), D(2024, 1, 10), (D(2024, 1, 5), D(2024, 1, 7))),
    (D(2024, 3, 1), D(2024, 3, 1), (D(2024, 2, 29), D(2024, 2, 29))),
    (D(2024, 3, 1), D(2024, 3, 31), (D(2024, 1, 30), D(2024, 2, 29))),
    (D(2024, 1, 1), D(2024, 1, 7), (D(2023, 12, 25), D(2023, 12, 31))),
])
def test_previous(date_from: dt.date, date_to: dt.date, expected: tuple[dt.date, dt.date]) -> None:
    assert previous(date_from, date_to) == expected
    assert oracle.previous_period(date_from, date_to) == expected
