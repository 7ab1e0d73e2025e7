"""Flat rows (``Result.rows`` / ``to_frame``) carry the same numbers as the JSON result."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from yunying.ingest.writer import write_events
from yunying.insights import run_query
from yunying.store import connect


@pytest.fixture(scope="module")
def shop():
    store = connect(":memory:")
    project = store.ensure_project("rows")
    day = dt.datetime(2024, 1, 1, 4)  # 12:00 in Asia/Shanghai
    rows = [
        {"uuid": f"r{i}", "event": event, "distinct_id": user,
         "timestamp": day + dt.timedelta(days=d, minutes=i), "properties": json.dumps({"c": c})}
        for i, (event, user, d, c) in enumerate([
            ("open", "a", 0, "x"), ("pay", "a", 0, "x"), ("open", "b", 0, "y"),
            ("open", "a", 1, "x"), ("open", "c", 1, "y"), ("pay", "c", 2, "y"), ("open", "b", 2, "y"),
        ])
    ]
    write_events(store, project, pa.Table.from_pylist(rows))
    yield store, project
    store.close()


RANGE = {"date_from": "2024-01-01", "date_to": "2024-01-03"}


def test_retention_rows_give_each_period_and_its_rate(shop):
    result = run_query(*shop, {"kind": "retention", "start_event": "open", "periods": 2, **RANGE})
    doc = result.to_json()
    # day 1 cohort: a, b; a back on day 2, b back on day 3; day 2 cohort: c, back on day 3 (pay)
    assert [(c["cohort"], c["values"]) for c in doc["cohorts"]] == [
        ("2024-01-01", [2, 1, 1]), ("2024-01-02", [1, 1]), ("2024-01-03", [0])]
    rows = result.rows()
    assert len(rows) == sum(len(c["values"]) for c in doc["cohorts"])
    assert {(r["cohort"], r["period"]): r["rate"] for r in rows} == {
        ("2024-01-01", 0): 1.0, ("2024-01-01", 1): 0.5, ("2024-01-01", 2): 0.5,
        ("2024-01-02", 0): 1.0, ("2024-01-02", 1): 1.0, ("2024-01-03", 0): 0.0}


def test_trend_and_funnel_rows_match_their_json(shop):
    trend = run_query(*shop, {"kind": "trends", "series": [{"event": "open", "math": "unique_users"}],
                              "breakdown": "c", **RANGE})
    cells = {(r["breakdown_value"], r["date"]): r["value"] for r in trend.rows()}
    for s in trend.to_json()["series"]:
        for date, value in zip(s["dates"], s["values"], strict=True):
            assert cells[(s["breakdown_value"], date)] == value
    funnel = run_query(*shop, {"kind": "funnel", "steps": [{"event": "open"}, {"event": "pay"}],
                               "breakdown": "c", **RANGE})
    assert [(r["breakdown_value"], r["count"]) for r in funnel.rows()] == [
        ("y", 2), ("y", 1), ("x", 1), ("x", 1)]
    assert funnel.to_arrow().num_rows == 4
