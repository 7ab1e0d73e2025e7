"""The same experiments on Spark (local[2]) give the statistics they give on DuckDB.

DuckDB's statistics are checked against the brute-force oracle (test_experiments_oracle.py);
here each experiment runs on both engines over one seeded log — exposure-event and hash
assignment, every metric kind, windows, capping, CUPED, a breakdown, both ways of reading the
metric rows — and the two must agree (counts exactly, sums to 1e-9 relative: engines may sum
in another order). Run with ``make test-spark``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import Any

import pyarrow as pa
import pytest

from yunying.experiments import experiment_data, metric_values
from yunying.experiments.assignment import variant_code_expr, variant_index
from yunying.ingest.writer import write_events
from yunying.insights.base import QueryContext, in_memory
from yunying.store import connect

pytestmark = pytest.mark.spark

KEY = "spark-test"
METRICS = [
    {"key": "paid", "kind": "conversion", "event": "pay", "window": "2d"},
    {"key": "revenue", "kind": "sum", "event": "pay", "property": "amount", "capping": {"percentile": 0.9}},
    {"key": "opens", "kind": "count", "event": "open", "filters": [{"property": "city", "operator": "neq",
                                                                     "value": "上海"}]},
    {"key": "avg_amount", "kind": "mean", "event": "pay", "property": "amount"},
    {"key": "per_open", "kind": "ratio", "window": "36h",
     "numerator": {"aggregation": "sum", "event": "pay", "property": "amount"},
     "denominator": {"aggregation": "count", "event": "open"}},
    {"key": "p90", "kind": "quantile", "event": "pay", "property": "amount", "level": 0.9},
]


def _log(seed: int, users: int = 300) -> pa.Table:
    rng = random.Random(seed)
    start = dt.datetime(2024, 3, 1)
    rows = []
    for i in range(users * 8):
        user = rng.randint(1, users)
        name = rng.choice(["$feature_flag_called", "pay", "open", "open", "view"])
        props: dict[str, Any] = {"city": rng.choice(["上海", "北京", None])}
        if name == "$feature_flag_called":
            props.update({"$feature_flag": rng.choice([KEY, KEY, "other"]),
                          "$feature_flag_response": rng.choice(["control", "green", "green", "x"])})
        if name == "pay":
            props["amount"] = rng.choice([round(rng.uniform(1, 500), 2), "12", None])
        rows.append({"uuid": f"e{seed}-{i}", "event": name, "distinct_id": f"u{user}",
                     # whole minutes: ties happen; March 2024 has the US DST switch
                     "timestamp": start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 30)),
                     "properties": json.dumps(props, ensure_ascii=False)})
    return pa.Table.from_pylist(rows)


@pytest.fixture(scope="module")
def engines():
    from yunying.store.spark import connect_spark, copy_to_spark

    duck = connect(":memory:")
    other = duck.ensure_project("other", "Asia/Shanghai")
    write_events(duck, other, _log(3, 50))
    project = duck.ensure_project("shop", "America/New_York")
    write_events(duck, project, _log(7))
    _profiles(duck, project.project_id, ["free", "pro", "团队版"])
    _profiles(duck, other.project_id, ["elsewhere"])
    spark = connect_spark()
    copy_to_spark(duck, spark)
    yield QueryContext(duck, project), QueryContext(spark, project)
    duck.close()


def _temp_tables(ctx: QueryContext) -> list[str]:
    if ctx.engine == "duckdb":
        return [r[0] for r in ctx.store.duckdb.sql("SELECT view_name FROM duckdb_views()").fetchall()]
    return [t.name for t in ctx.store.backend._session.catalog.listTables()]


def _profiles(store: Any, project_id: int, plans: list[str]) -> None:
    """A profile with a plan for two of every three persons of the project (the rest have none)."""
    persons = [r[0] for r in store.duckdb.execute(
        "SELECT person_id FROM persons WHERE project_id = ? ORDER BY person_id", [project_id]).fetchall()]
    rows = [(project_id, p, False, json.dumps({"plan": plans[i // 3 % len(plans)]}, ensure_ascii=False))
            for i, p in enumerate(persons) if i % 3]
    store.duckdb.executemany("INSERT INTO person_profiles VALUES (?, ?, ?, ?, now()::TIMESTAMP)", rows)


def _same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif hasattr(a, "__dataclass_fields__"):
        assert type(a) is type(b), path
        for name in a.__dataclass_fields__:
            _same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


EXPERIMENTS = [
    {"assignment": {"kind": "exposure_event"}, "analysis": {"cuped": True, "pre_period_days": 7}},
    {"assignment": {"kind": "hash", "trigger_event": "open"}, "analysis": {"cuped": False}},
    {"assignment": {"kind": "hash", "trigger_event": "$any"}, "analysis": {"cuped": True}},
]


@pytest.mark.parametrize("semi_join", [False, True])
@pytest.mark.parametrize("breakdown", [None, "city"])
@pytest.mark.parametrize("settings", EXPERIMENTS, ids=["exposure", "hash-open", "hash-any"])
def test_spark_gives_the_duckdb_statistics(engines, settings, breakdown, semi_join, monkeypatch):
    duck, spark = engines
    experiment = {"key": KEY, "name": "s", "variants": [{"key": "control"}, {"key": "green", "weight": 2}],
                  "start": "2024-03-08", "end": "2024-03-20",
                  "metrics": {"primary": METRICS[:1], "secondary": METRICS[1:]}, **settings}
    monkeypatch.setattr(metric_values, "SEMI_JOIN_MAX_USERS", 10**9 if semi_join else -1)
    monkeypatch.setattr(metric_values, "BY_PERSON_MAX_SPREAD", 10**9 if semi_join else 0)
    expected = experiment_data(duck, experiment, breakdown=breakdown)
    assert sum(expected.overall.users) > 50
    found = experiment_data(spark, experiment, breakdown=breakdown)
    _same(found.overall, expected.overall, "overall")
    _same(list(found.groups), list(expected.groups), "groups")
    assert (found.excluded_users, found.caps, found.first_exposure, found.last_exposure) == \
        (expected.excluded_users, expected.caps, expected.first_exposure, expected.last_exposure)
    for ctx in (duck, spark):  # the persons of the semi-join are not left registered
        assert not [t for t in _temp_tables(ctx) if "memtable" in t]


def test_spark_hashes_like_python(engines):
    _, spark = engines
    ids = [f"user-{i}" for i in range(500)] + ["用户", "😀", ""]
    with in_memory(spark, pa.table({"id": ids})) as table:
        for weights in ([1, 1], [1, 2, 7]):
            codes = spark.store.backend.execute(table.select(code=variant_code_expr("k", table.id, weights)))
            assert codes["code"].tolist() == [variant_index("k", u, weights) for u in ids]


def test_spark_breaks_down_by_a_user_property_like_duckdb(engines):
    duck, spark = engines
    experiment = {"key": KEY, "name": "s", "variants": [{"key": "control"}, {"key": "green"}],
                  "start": "2024-03-08", "end": "2024-03-20",
                  "metrics": {"primary": METRICS[:1], "secondary": METRICS[1:]}}
    expected = experiment_data(duck, experiment, breakdown="plan", breakdown_type="person")
    assert {g.value for g in expected.groups} == {"free", "pro", "团队版", None}  # never another project's
    found = experiment_data(spark, experiment, breakdown="plan", breakdown_type="person")
    _same(list(found.groups), list(expected.groups), "groups")
