"""The same insight documents on Spark (local[2]) give the same results as on DuckDB.

DuckDB's results are checked against the brute-force oracle elsewhere; here every insight kind
runs on both engines over one seeded log and the two results must be identical (counts
exactly, floating-point statistics to 1e-9 relative: engines may sum in another order).
Run with ``make test-spark``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import Any

import pyarrow as pa
import pytest

from yunying.ingest.writer import write_events
from yunying.insights import run_query
from yunying.store import connect

pytestmark = pytest.mark.spark

EVENTS = ["app_open", "view_product", "add_to_cart", "pay", "中文事件"]


def _log(seed: int, n: int = 3000) -> pa.Table:
    rng = random.Random(seed)
    start = dt.datetime(2024, 3, 1)
    rows = []
    for i in range(n):
        props: dict[str, Any] = {"channel": rng.choice(["百度", "微信", "抖音", None]),
                                 "amount": round(rng.uniform(1, 500), 2)}
        if rng.random() < 0.3:
            props["city"] = rng.choice(["上海", "北京", "深圳"])
        rows.append({
            "uuid": f"e{seed}-{i}",
            "event": rng.choice(EVENTS),
            "distinct_id": f"u{rng.randint(1, 80)}",
            # whole minutes: ties happen; March 2024 includes the US and EU DST switches
            "timestamp": start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 40)),
            "properties": json.dumps(props, ensure_ascii=False),
        })
    return pa.Table.from_pylist(rows)


@pytest.fixture(scope="module")
def engines():
    from yunying.store.spark import connect_spark, copy_to_spark

    duck = connect(":memory:")
    project = duck.ensure_project("shop")
    write_events(duck, project, _log(7))
    spark = connect_spark()
    copy_to_spark(duck, spark)
    yield duck, spark, project
    duck.close()


def _same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


DOCUMENTS = [
    {"kind": "trends", "interval": "day", "series": [
        {"event": "app_open", "math": "unique_users"},
        {"event": "pay", "math": "sum", "property": "amount"},
        {"event": "pay", "math": "median", "property": "amount"},
        {"event": "pay", "math": "p90", "property": "amount"}],
     "breakdown": "channel", "compare": True, "formula": "B/A"},
    {"kind": "trends", "interval": "hour", "series": [{"event": "$any", "math": "total"}],
     "filters": [{"property": "city", "operator": "is_set"}]},
    {"kind": "trends", "interval": "month", "series": [{"event": "中文事件", "math": "avg",
                                                      "property": "amount"}],
     "breakdown": "city", "breakdown_limit": 1},
    {"kind": "funnel", "steps": [{"event": "app_open"}, {"event": "view_product"},
                                 {"event": "add_to_cart"}, {"event": "pay"}],
     "window": "3d", "breakdown": "channel"},
    {"kind": "funnel", "steps": [{"event": "view_product"}, {"event": "view_product",
                                 "filters": [{"property": "amount", "operator": "gte", "value": 100}]}],
     "window": "90m"},
    {"kind": "retention", "start_event": "app_open", "return_event": "$any", "period": "day",
     "periods": 7},
    {"kind": "retention", "start_event": "app_open", "return_event": "pay", "period": "week",
     "periods": 4, "return_filters": [{"property": "channel", "operator": "neq", "value": "百度"}]},
    {"kind": "stickiness", "event": "app_open", "interval": "day"},
    {"kind": "lifecycle", "event": "app_open", "interval": "week"},
    {"kind": "lifecycle", "event": "$any", "interval": "day"},
    {"kind": "paths", "event": "app_open", "steps": 4, "exclude_events": ["中文事件"]},
    {"kind": "paths", "event": "pay", "steps": 2, "direction": "before"},
]


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "America/New_York"])
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d["kind"])
def test_spark_gives_the_duckdb_result(engines, document, timezone):
    duck, spark, project = engines
    doc = {**document, "date_from": "2024-03-04", "date_to": "2024-04-02", "timezone": timezone}
    expected = run_query(duck, project, doc).to_json()
    _same(run_query(spark, project, doc).to_json(), expected)
