"""Golden numbers: a tiny hand-written log with every result worked out by hand.

25 events, 4 users (ann, bob, cat, dan), project time zone Asia/Shanghai (UTC+8, no DST).
Times below are *local* Shanghai wall-clock times; the UTC instant stored is 8 hours earlier
(written out by hand in :func:`_shanghai`, not via a time-zone library). The numbers in each
test were computed by hand from docs/metrics.md, step by step in the comments, and are
checked against both the runner and the oracle (tests/oracle.py).

    #   user local time (Shanghai)      event      properties
    1   ann  2023-12-31 22:00           view       plan=pro                (before the range)
    2   ann  2024-01-01 00:00           view       plan=pro, price=10      (local midnight)
    3   ann  2024-01-01 00:10           cart       price="20"              (numeric string)
    4   ann  2024-01-01 00:20           buy        price=30
    5   ann  2024-01-03 09:00           view       plan=pro
    6   ann  2024-01-08 10:00           view       {}                      (next Monday)
    7   bob  2024-01-01 23:59:59.999999 view       plan=free, price=5      (last µs of Jan 1)
    8   bob  2024-01-02 00:00           cart       price=1.5               (tie with 9)
    9   bob  2024-01-02 00:00           view       plan=free               (tie with 8)
    10  bob  2024-01-04 12:00           buy        price="abc"             (not a number)
    11  bob  2024-01-05 12:00           view       plan=null               (JSON null)
    12  cat  2024-01-02 08:00           view       plan=免费               (tie with 13)
    13  cat  2024-01-02 08:00           view       plan=免费               (same event twice)
    14  cat  2024-01-02 08:30           cart       price=7
    15  cat  2024-01-06 18:00           buy        price=7, plan=免费
    16  cat  2024-01-07 23:00           view       {}                      (plan missing)
    17  dan  2024-01-04 10:00           cart       price=100
    18  dan  2024-01-04 10:05           view       plan=pro
    19  dan  2024-01-04 10:10           cart       price=true              (not a number)
    20  dan  2024-01-06 09:00           view       plan=PRO
    21  dan  2024-01-08 00:00           buy        price=50                (Monday midnight)
    22  ann  2024-01-05 20:00           $pageview  $browser=Chrome
    23  bob  2024-01-06 20:00           $pageview  $browser=Safari
    24  cat  2024-01-03 07:00           $pageview  $browser=Chrome
    25  dan  2024-01-07 08:00           $pageview  $browser="Chrome 😀"

uuids are ``…000000000001`` … ``…000000000025`` (event number), so the tie 8/9 is ordered
8 then 9 in paths. 2024-01-01 is a Monday.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import oracle
import pytest
from conftest import LoadedLog, LogLoader

Event = dict[str, Any]
R = "2024-01-01", "2024-01-07"  # the usual range: the week of Monday 2024-01-01

_ROWS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("ann", "2023-12-31 22:00", "view", {"plan": "pro"}),
    ("ann", "2024-01-01 00:00", "view", {"plan": "pro", "price": 10}),
    ("ann", "2024-01-01 00:10", "cart", {"price": "20"}),
    ("ann", "2024-01-01 00:20", "buy", {"price": 30}),
    ("ann", "2024-01-03 09:00", "view", {"plan": "pro"}),
    ("ann", "2024-01-08 10:00", "view", {}),
    ("bob", "2024-01-01 23:59:59.999999", "view", {"plan": "free", "price": 5}),
    ("bob", "2024-01-02 00:00", "cart", {"price": 1.5}),
    ("bob", "2024-01-02 00:00", "view", {"plan": "free"}),
    ("bob", "2024-01-04 12:00", "buy", {"price": "abc"}),
    ("bob", "2024-01-05 12:00", "view", {"plan": None}),
    ("cat", "2024-01-02 08:00", "view", {"plan": "免费"}),
    ("cat", "2024-01-02 08:00", "view", {"plan": "免费"}),
    ("cat", "2024-01-02 08:30", "cart", {"price": 7}),
    ("cat", "2024-01-06 18:00", "buy", {"price": 7, "plan": "免费"}),
    ("cat", "2024-01-07 23:00", "view", {}),
    ("dan", "2024-01-04 10:00", "cart", {"price": 100}),
    ("dan", "2024-01-04 10:05", "view", {"plan": "pro"}),
    ("dan", "2024-01-04 10:10", "cart", {"price": True}),
    ("dan", "2024-01-06 09:00", "view", {"plan": "PRO"}),
    ("dan", "2024-01-08 00:00", "buy", {"price": 50}),
    ("ann", "2024-01-05 20:00", "$pageview", {"$browser": "Chrome"}),
    ("bob", "2024-01-06 20:00", "$pageview", {"$browser": "Safari"}),
    ("cat", "2024-01-03 07:00", "$pageview", {"$browser": "Chrome"}),
    ("dan", "2024-01-07 08:00", "$pageview", {"$browser": "Chrome 😀"}),
]


def _shanghai(local: str) -> dt.datetime:
    """Naive UTC of a Shanghai wall-clock time: Shanghai is UTC+8 all year."""
    return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)


GOLDEN_EVENTS: list[Event] = [
    {"uuid": f"00000000-0000-0000-0000-{n:012d}", "distinct_id": user, "event": name,
     "timestamp": _shanghai(local), "properties": props}
    for n, (user, local, name, props) in enumerate(_ROWS, start=1)
]


@pytest.fixture(scope="session")
def golden(load_log: LogLoader) -> LoadedLog:
    return load_log(GOLDEN_EVENTS, "Asia/Shanghai")


def check(golden: LoadedLog, document: dict[str, Any], expected: dict[str, Any]) -> None:
    """The runner and the oracle both give the hand-worked ``expected`` (a partial result:
    only the keys given are compared)."""
    for side, result in (("oracle", golden.oracle(document)), ("runner", golden.run(document))):
        partial = {k: result.get(k) for k in expected}
        diffs = oracle.differences(oracle.normalise({**result, **partial}),
                                   oracle.normalise({**result, **expected}))
        assert not diffs, f"{side} != hand-worked:\n  " + "\n  ".join(diffs)


def days(first: str, n: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def series(label: str, values: list[float], dates: list[str], *, total: float | None,
           event: str | None = "view", math: str = "total", prop: str | None = None,
           breakdown_value: str | None = None, compare: str = "current") -> dict[str, Any]:
    return {"label": label, "event": event, "math": math, "property": prop,
            "breakdown_value": breakdown_value, "compare": compare, "dates": dates,
            "values": values, "total": total}


# ----------------------------------------------------------------------------- trends
def test_trends_total_unique_and_formula(golden: LoadedLog) -> None:
    # Views in Jan 1–7 (#1 is Dec 31 and #6 Jan 8: out), by local date:
    #   Jan 1: #2 ann 00:00, #7 bob 23:59:59.999999      -> 2 events, 2 users
    #   Jan 2: #9 bob 00:00 (midnight: Jan 2), #12 #13 cat -> 3 events, 2 users
    #   Jan 3: #5 ann; Jan 4: #18 dan; Jan 5: #11 bob; Jan 6: #20 dan; Jan 7: #16 cat -> 1, 1
    # total A = 10; B over the whole range = ann, bob, cat, dan = 4.
    # A/B per day: 2/2, 3/2, 1, 1, 1, 1, 1.
    doc = {"kind": "trends", "date_from": R[0], "date_to": R[1], "interval": "day",
           "series": [{"event": "view"}, {"event": "view", "math": "unique_users"}],
           "formula": "A/B"}
    dates = days("2024-01-01", 7)
    check(golden, doc, {"timezone": "Asia/Shanghai", "interval": "day", "series": [
        series("A", [2, 3, 1, 1, 1, 1, 1], dates, total=10),
        series("B", [2, 2, 1, 1, 1, 1, 1], dates, total=4, math="unique_users"),
        series("A/B", [1, 1.5, 1, 1, 1, 1, 1], dates, total=None, event=None, math="formula"),
    ]})


def test_trends_property_maths_weekly(golden: LoadedLog) -> None:
    # Numeric prices of all events ($any) in Jan 1–8: week of Jan 1: #2 10, #3 "20" -> 20,
    # #4 30, #7 5, #8 1.5, #14 7, #15 7, #17 100 (#10 "abc" and #19 true are not numbers);
    # week of Jan 8: #21 50.
    # Week 1 sorted: 1.5 5 7 7 10 20 30 100 (n=8): sum 180.5, avg 22.5625, min 1.5, max 100,
    #   median h=3.5 -> 7 + .5*(10-7) = 8.5; p90 h=6.3 -> 30 + .3*(100-30) = 51.
    # Week 2: 50 for every math.  Whole range (9 values) 1.5 5 7 7 10 20 30 50 100:
    #   sum 230.5, avg 230.5/9, min 1.5, max 100, median h=4 -> 10, p90 h=7.2 -> 50+.2*50 = 60.
    maths = {"sum": (180.5, 50, 230.5), "avg": (22.5625, 50, 230.5 / 9),
             "min": (1.5, 50, 1.5), "max": (100, 50, 100),
             "median": (8.5, 50, 10), "p90": (51, 50, 60)}
    doc = {"kind": "trends", "date_from": R[0], "date_to": "2024-01-08", "interval": "week",
           "series": [{"event": "$any", "math": m, "property": "price"} for m in maths]}
    dates = ["2024-01-01", "2024-01-08"]
    check(golden, doc, {"series": [
        series(chr(65 + i), [w1, w2], dates, total=total, event="$any", math=m, prop="price")
        for i, (m, (w1, w2, total)) in enumerate(maths.items())
    ]})


def test_trends_breakdown_folds_other(golden: LoadedLog) -> None:
    # Views in Jan 1–7 by plan: pro #2 #5 #18 (3); free #7 #9 (2); 免费 #12 #13 (2);
    # null #11 (JSON null) #16 (missing) (2); PRO #20 (1).
    # Rank: pro 3, then the 2s by value: "free" < "免费", null last; then PRO.
    # Limit 2 keeps pro, free; $other = 免费 + null + PRO = 5 events.
    # B (unique users), ranked by the same events: pro = ann, dan (2); free = bob (1);
    # $other = cat (#12 #13 #16), bob (#11), dan (#20) = 3 distinct (not 1 + 2 + 1 = 4).
    doc = {"kind": "trends", "date_from": R[0], "date_to": R[1], "interval": "week",
           "series": [{"event": "view"}, {"event": "view", "math": "unique_users"}],
           "breakdown": "plan", "breakdown_limit": 2}
    week = ["2024-01-01"]
    check(golden, doc, {"series": [
        series("A", [3], week, total=3, breakdown_value="pro"),
        series("A", [2], week, total=2, breakdown_value="free"),
        series("A", [5], week, total=5, breakdown_value="$other"),
        series("B", [2], week, total=2, math="unique_users", breakdown_value="pro"),
        series("B", [1], week, total=1, math="unique_users", breakdown_value="free"),
        series("B", [3], week, total=3, math="unique_users", breakdown_value="$other"),
    ]})


def test_trends_breakdown_materialised_property_unicode(golden: LoadedLog) -> None:
    # $pageview in Jan 1–7 by $browser: Chrome #22 #24 (2), "Chrome 😀" #25 (1), Safari #23
    # (1). Ties by value: "Chrome 😀" < "Safari" ('C' < 'S').
    doc = {"kind": "trends", "date_from": R[0], "date_to": R[1], "interval": "month",
           "series": [{"event": "$pageview"}], "breakdown": "$browser"}
    month = ["2024-01-01"]
    check(golden, doc, {"series": [
        series("A", [2], month, total=2, event="$pageview", breakdown_value="Chrome"),
        series("A", [1], month, total=1, event="$pageview", breakdown_value="Chrome 😀"),
        series("A", [1], month, total=1, event="$pageview", breakdown_value="Safari"),
    ]})


def test_trends_filters(golden: LoadedLog) -> None:
    # Views in Jan 1–7 (10, see above) by plan: pro 3, free 2, 免费 2, null 2, PRO 1.
    #   A plan eq "pro" -> 3;  B plan neq "pro" -> 10 - 3 = 7 (the nulls count);
    #   C plan icontains "PRO" -> pro 3 + PRO 1 = 4;  D plan is_not_set -> #11, #16 = 2;
    #   E $any with price gt 6: 10, "20", 30, 7, 7, 100 -> 6 (5 and 1.5 are not; "abc" and
    #   true are not numbers);  F $any with price eq 20 (the number is compared as "20"):
    #   #3 "20" -> 1;
    #   G plan contains "免" -> 2;  H event that never happens -> 0.
    doc = {"kind": "trends", "date_from": R[0], "date_to": R[1], "interval": "week", "series": [
        {"event": "view", "filters": [{"property": "plan", "operator": "eq", "value": "pro"}]},
        {"event": "view", "filters": [{"property": "plan", "operator": "neq", "value": "pro"}]},
        {"event": "view", "filters": [{"property": "plan", "operator": "icontains",
                                       "value": "PRO"}]},
        {"event": "view", "filters": [{"property": "plan", "operator": "is_not_set"}]},
        {"event": "$any", "filters": [{"property": "price", "operator": "gt", "value": 6}]},
        {"event": "$any", "filters": [{"property": "price", "operator": "eq", "value": 20}]},
        {"event": "view", "filters": [{"property": "plan", "operator": "contains",
                                       "value": "免"}]},
        {"event": "nothing"},
    ]}
    got = golden.run(doc), golden.oracle(doc)
    for result in got:
        assert [s["values"] for s in result["series"]] == [[3], [7], [4], [2], [6], [1], [2], [0]]


def test_trends_compare_previous_period(golden: LoadedLog) -> None:
    # Current Jan 2–3: views Jan 2: 3 (#9 #12 #13), Jan 3: 1 (#5).
    # Previous: the 2 days ending Jan 1 = Dec 31 (#1) and Jan 1 (#2 #7): 1, 2.
    doc = {"kind": "trends", "date_from": "2024-01-02", "date_to": "2024-01-03",
           "series": [{"event": "view"}], "compare": True}
    check(golden, doc, {"series": [
        series("A", [3, 1], ["2024-01-02", "2024-01-03"], total=4),
        series("A", [1, 2], ["2023-12-31", "2024-01-01"], total=3, compare="previous"),
    ]})


def test_trends_hours_and_other_time_zone(golden: LoadedLog) -> None:
    # Hourly views on Jan 2 (Shanghai): 00:00 #9 (1), 08:00 #12 #13 (2), the rest 0.
    doc = {"kind": "trends", "date_from": "2024-01-02", "date_to": "2024-01-02",
           "interval": "hour", "series": [{"event": "view"}]}
    values = [0.0] * 24
    values[0], values[8] = 1, 2
    hours = [f"2024-01-02 {h:02d}:00" for h in range(24)]
    check(golden, doc, {"series": [series("A", values, hours, total=3)]})
    # In UTC (8 h earlier): #7 = Jan 1 15:59:59.999999, #9 = Jan 1 16:00 -> Jan 1 (2);
    # #12 #13 = Jan 2 00:00 UTC -> Jan 2 (2); #2 = Dec 31 16:00 and #5 = Jan 3 01:00: out.
    doc = {"kind": "trends", "date_from": "2024-01-01", "date_to": "2024-01-02",
           "timezone": "UTC", "series": [{"event": "view"}]}
    check(golden, doc, {"timezone": "UTC",
                        "series": [series("A", [2, 2], days("2024-01-01", 2), total=4)]})


# ----------------------------------------------------------------------------- funnel
def step(n: int, event: str, count: int, first: float, previous: float,
         to_convert: float | None, from_first: float | None) -> dict[str, Any]:
    return {"step": n, "event": event, "count": count, "conversion_from_first": first,
            "conversion_from_previous": previous, "median_seconds_to_convert": to_convert,
            "median_seconds_from_first": from_first}


def test_funnel_view_cart_buy(golden: LoadedLog) -> None:
    # Jan 1–7, window 14d.
    # ann: view #2 00:00 -> cart #3 00:10 -> buy #4 00:20: level 3; t*: +600 s, +600 s.
    # bob: view #7 Jan 1 23:59:59.999999 -> cart #8 Jan 2 00:00 -> buy #10 Jan 4 12:00: level 3;
    #      t*2 - t*1 = 0.000001 s; t*3 - t*2 = 2.5 d = 216000 s; t*3 - t*1 = 216000.000001 s.
    # cat: view #12 Jan 2 08:00 -> cart #14 08:30 -> buy #15 Jan 6 18:00 (4 d 10 h < 14 d):
    #      level 3; 1800 s; 4 d 9.5 h = 379800 s; from first 4 d 10 h = 381600 s.
    # dan: view #18 10:05 -> cart #19 10:10 (cart #17 is before any view); buy #21 is Jan 8
    #      (out of range): level 2; 300 s.
    # Counts 4, 4, 3. Step 2 medians over {600, 0.000001, 1800, 300}: (300 + 600)/2 = 450.
    # Step 3 over ann, bob, cat: to convert {600, 216000, 379800} -> 216000;
    #   from first {1200, 216000.000001, 381600} -> 216000.000001.
    doc = {"kind": "funnel", "date_from": R[0], "date_to": R[1],
           "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}]}
    check(golden, doc, {"window_seconds": 14 * 86400, "breakdowns": None, "steps": [
        step(1, "view", 4, 1.0, 1.0, None, None),
        step(2, "cart", 4, 1.0, 1.0, 450.0, 450.0),
        step(3, "buy", 3, 0.75, 0.75, 216000.0, 216000.000001),
    ]})


def test_funnel_short_window(golden: LoadedLog) -> None:
    # Window 1h: ann still 3 (20 min). bob, cat: the buy is days later -> level 2.
    # dan level 2. Counts 4, 4, 1; step 2 medians unchanged (450); step 3: ann 600 / 1200.
    doc = {"kind": "funnel", "date_from": R[0], "date_to": R[1], "window": "1h",
           "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}]}
    check(golden, doc, {"window_seconds": 3600, "steps": [
        step(1, "view", 4, 1.0, 1.0, None, None),
        step(2, "cart", 4, 1.0, 1.0, 450.0, 450.0),
        step(3, "buy", 1, 0.25, 0.25, 600.0, 1200.0),
    ]})


def test_funnel_repeated_step_and_ties(golden: LoadedLog) -> None:
    # view -> view needs two distinct views. ann #2 -> #5 (Jan 3 09:00): 2 d 9 h = 205200 s.
    # bob #7 -> #9 (Jan 2 00:00): 0.000001 s. cat #12 -> #13, the same instant (a tie): 0 s.
    # dan #18 -> #20 (Jan 6 09:00): 1 d 22 h 55 m = 168900 s.
    # Median of {0, 0.000001, 168900, 205200} = (0.000001 + 168900)/2 = 84450.0000005.
    doc = {"kind": "funnel", "date_from": R[0], "date_to": R[1],
           "steps": [{"event": "view"}, {"event": "view"}]}
    check(golden, doc, {"steps": [
        step(1, "view", 4, 1.0, 1.0, None, None),
        step(2, "view", 4, 1.0, 1.0, 84450.0000005, 84450.0000005),
    ]})
    # bob's cart #8 and view #9 are tied at Jan 2 00:00: cart -> view may take them in
    # either order, so bob converts with 0 s (and dan: cart #17 10:00 -> view #18, 300 s;
    # ann and cat have no view at or after a cart... ann: cart #3 00:10 -> view #5 Jan 3
    # 09:00 = 2 d 8 h 50 m = 204600 s; cat: cart #14 Jan 2 08:30 -> view #16 Jan 7 23:00 =
    # 5 d 14.5 h = 484200 s). Counts 4 carts (ann, bob, cat, dan), 4 converted.
    # Median of {204600, 0, 484200, 300} = (300 + 204600)/2 = 102450.
    doc = {"kind": "funnel", "date_from": R[0], "date_to": R[1],
           "steps": [{"event": "cart"}, {"event": "view"}]}
    check(golden, doc, {"steps": [
        step(1, "cart", 4, 1.0, 1.0, None, None),
        step(2, "view", 4, 1.0, 1.0, 102450.0, 102450.0),
    ]})


def test_funnel_breakdown(golden: LoadedLog) -> None:
    # view -> cart, by plan of each user's earliest view in range: ann #2 pro, bob #7 free,
    # cat #12/#13 免费 (tie, same value), dan #18 pro. Step-1 counts pro 2, free 1, 免费 1
    # ("free" < "免费"). All four reach cart (medians: ann 600, dan 300 -> 450; bob 0.000001;
    # cat 1800). With breakdown_limit 1: pro, then $other = bob + cat:
    # median (0.000001 + 1800)/2 = 900.0000005.
    base = {"kind": "funnel", "date_from": R[0], "date_to": R[1],
            "steps": [{"event": "view"}, {"event": "cart"}], "breakdown": "plan"}
    overall = [step(1, "view", 4, 1.0, 1.0, None, None), step(2, "cart", 4, 1.0, 1.0, 450, 450)]

    def two(count: int, median: float) -> list[dict[str, Any]]:
        return [step(1, "view", count, 1.0, 1.0, None, None),
                step(2, "cart", count, 1.0, 1.0, median, median)]

    check(golden, base, {"steps": overall, "breakdowns": [
        {"breakdown_value": "pro", "steps": two(2, 450.0)},
        {"breakdown_value": "free", "steps": two(1, 0.000001)},
        {"breakdown_value": "免费", "steps": two(1, 1800.0)},
    ]})
    check(golden, {**base, "breakdown_limit": 1}, {"steps": overall, "breakdowns": [
        {"breakdown_value": "pro", "steps": two(2, 450.0)},
        {"breakdown_value": "$other", "steps": two(2, 900.0000005)},
    ]})


# ----------------------------------------------------------------------------- retention
def test_retention_daily(golden: LoadedLog) -> None:
    # First view in Jan 1–7: ann Jan 1, bob Jan 1 (#7, 23:59:59.999999), cat Jan 2, dan Jan 4.
    # Active days ($any, in range): ann 1 3 5; bob 1 2 4 5 6; cat 2 3 6 7; dan 4 6 7.
    # Cohort Jan 1 {ann, bob}: +1 (Jan 2) bob; +2 (Jan 3) ann; +3 (Jan 4) bob -> [2, 1, 1, 1].
    # Jan 2 {cat}: Jan 3 yes, Jan 4 no, Jan 5 no -> [1, 1, 0, 0].  Jan 3: empty.
    # Jan 4 {dan}: Jan 5 no, Jan 6 yes, Jan 7 yes -> [1, 0, 1, 1].
    # Jan 5, 6, 7: empty, cut by date_to: min(3, 7 - d) + 1 entries.
    doc = {"kind": "retention", "date_from": R[0], "date_to": R[1], "start_event": "view",
           "return_event": "$any", "period": "day", "periods": 3}
    check(golden, doc, {"period": "day", "cohorts": [
        {"cohort": "2024-01-01", "size": 2, "values": [2, 1, 1, 1]},
        {"cohort": "2024-01-02", "size": 1, "values": [1, 1, 0, 0]},
        {"cohort": "2024-01-03", "size": 0, "values": [0, 0, 0, 0]},
        {"cohort": "2024-01-04", "size": 1, "values": [1, 0, 1, 1]},
        {"cohort": "2024-01-05", "size": 0, "values": [0, 0, 0]},
        {"cohort": "2024-01-06", "size": 0, "values": [0, 0]},
        {"cohort": "2024-01-07", "size": 0, "values": [0]},
    ]})


def test_retention_weekly(golden: LoadedLog) -> None:
    # Jan 1–8, weeks of Jan 1 and Jan 8. Everyone's first view is in week 1 (size 4).
    # Returns in week 2 (only Jan 8 is in range): ann #6 view, dan #21 buy (00:00) -> 2.
    doc = {"kind": "retention", "date_from": R[0], "date_to": "2024-01-08",
           "start_event": "view", "period": "week", "periods": 2}
    check(golden, doc, {"cohorts": [
        {"cohort": "2024-01-01", "size": 4, "values": [4, 2]},
        {"cohort": "2024-01-08", "size": 0, "values": [0]},
    ]})


# ----------------------------------------------------------------------------- stickiness
def test_stickiness(golden: LoadedLog) -> None:
    # View days in Jan 1–7: ann 1 3 (2); bob 1 2 5 (3); cat 2 7 (2); dan 4 6 (2).
    doc = {"kind": "stickiness", "date_from": R[0], "date_to": R[1], "event": "view"}
    check(golden, doc, {"buckets": 7, "stickiness": [
        {"buckets_active": k, "users": {2: 3, 3: 1}.get(k, 0)} for k in range(1, 8)
    ]})
    # Weeks, Jan 1–8: ann views in both weeks (#6 on Jan 8); bob, cat, dan only week 1.
    doc = {**doc, "date_to": "2024-01-08", "interval": "week"}
    check(golden, doc, {"buckets": 2, "stickiness": [
        {"buckets_active": 1, "users": 3}, {"buckets_active": 2, "users": 1}]})


# ----------------------------------------------------------------------------- lifecycle
def test_lifecycle_daily(golden: LoadedLog) -> None:
    # View days (whole store): ann Dec 31, Jan 1, 3, 8; bob Jan 1, 2, 5; cat Jan 2, 7;
    # dan Jan 4, 6. First buckets: ann Dec 31, bob Jan 1, cat Jan 2, dan Jan 4.
    # Jan 1: ann returning (Dec 31 active, read before the range), bob new.
    # Jan 2: bob returning, cat new, ann dormant.   Jan 3: ann resurrecting; bob, cat dormant.
    # Jan 4: dan new; ann dormant.   Jan 5: bob resurrecting; dan dormant.
    # Jan 6: dan resurrecting; bob dormant.   Jan 7: cat resurrecting; dan dormant.
    doc = {"kind": "lifecycle", "date_from": R[0], "date_to": R[1], "event": "view"}
    rows = [(1, 1, 0, 0), (1, 1, 0, -1), (0, 0, 1, -2), (1, 0, 0, -1), (0, 0, 1, -1),
            (0, 0, 1, -1), (0, 0, 1, -1)]
    check(golden, doc, {"interval": "day", "buckets": [
        {"date": d, "new": n, "returning": r, "resurrecting": s, "dormant": o}
        for d, (n, r, s, o) in zip(days("2024-01-01", 7), rows, strict=True)
    ]})


def test_lifecycle_weekly_full_buckets(golden: LoadedLog) -> None:
    # Jan 3–9 touches the weeks of Jan 1 and Jan 8, both taken whole.
    # Week 1 (Jan 1–7): ann returning (week of Dec 25 active via #1); bob, cat, dan new.
    # Week 2 (Jan 8–14): ann returning (#6); bob, cat, dan dormant (-3).
    doc = {"kind": "lifecycle", "date_from": "2024-01-03", "date_to": "2024-01-09",
           "event": "view", "interval": "week"}
    check(golden, doc, {"buckets": [
        {"date": "2024-01-01", "new": 3, "returning": 1, "resurrecting": 0, "dormant": 0},
        {"date": "2024-01-08", "new": 0, "returning": 1, "resurrecting": 0, "dormant": -3},
    ]})


# ----------------------------------------------------------------------------- paths
def test_paths_after_with_exclusions(golden: LoadedLog) -> None:
    # Each user's events in Jan 1–7 in order (ties by uuid: bob's #8 cart before #9 view):
    #   ann: view#2 cart#3 buy#4 view#5 $pageview#22
    #   bob: view#7 cart#8 view#9 buy#10 view#11 $pageview#23
    #   cat: view#12 view#13 cart#14 $pageview#24 buy#15 view#16
    #   dan: cart#17 view#18 cart#19 view#20 $pageview#25
    # Anchor = first view; carts ignored; 3 steps:
    #   ann: view buy view $pageview;  bob: view view buy view;
    #   cat: view view $pageview buy;  dan: view view $pageview (ends at depth 2).
    doc = {"kind": "paths", "date_from": R[0], "date_to": R[1], "event": "view",
           "steps": 3, "exclude_events": ["cart"]}
    link = [
        (1, "view", "buy", 1), (1, "view", "view", 3),
        (2, "buy", "view", 1), (2, "view", "$pageview", 2), (2, "view", "buy", 1),
        (3, "$pageview", "buy", 1), (3, "buy", "view", 1), (3, "view", "$pageview", 1),
    ]
    check(golden, doc, {"event": "view", "direction": "after", "users": 4,
                        "links": [{"depth": d, "source": s, "target": t, "users": n}
                                  for d, s, t, n in link],
                        "dropoff": [{"depth": 2, "event": "$pageview", "users": 1}]})


def test_paths_before(golden: LoadedLog) -> None:
    # Anchor = last buy in Jan 1–7: ann #4, bob #10, cat #15 (dan's #21 is Jan 8: out).
    # Going back 3 steps: ann: buy cart#3 view#2 (nothing earlier in range: ends at 2);
    #   bob: buy view#9 cart#8 view#7;  cat: buy $pageview#24 cart#14 view#13.
    doc = {"kind": "paths", "date_from": R[0], "date_to": R[1], "event": "buy",
           "direction": "before", "steps": 3}
    link = [
        (1, "buy", "$pageview", 1), (1, "buy", "cart", 1), (1, "buy", "view", 1),
        (2, "$pageview", "cart", 1), (2, "cart", "view", 1), (2, "view", "cart", 1),
        (3, "cart", "view", 2),
    ]
    check(golden, doc, {"direction": "before", "users": 3,
                        "links": [{"depth": d, "source": s, "target": t, "users": n}
                                  for d, s, t, n in link],
                        "dropoff": [{"depth": 2, "event": "view", "users": 1}]})
