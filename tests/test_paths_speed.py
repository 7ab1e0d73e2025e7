"""The fast paths insight (yunying/insights/paths.py + paths_kernel.py) against the oracle.

The paths runner reads each person's events once without their uuids and walks them in a
compiled kernel; only where tied timestamps could change a path does it read those rows
again with their uuids. The oracle tests rarely reach that second route, so here the logs
are built for it: few timestamps (many ties of different events, at the anchor, inside the
path and at its end), rows written in shuffled order, uuids whose order is not their
insertion order (non-ASCII, prefixes of one another). Also: the kernel pieces on their own,
a read that changes between the two reads, person ids far apart, and the same tie-heavy
log on Spark (``make test-spark``).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import oracle
import pyarrow as pa
import pytest
from conftest import Event, LoadedLog, LogLoader, events_to_arrow

import yunying.insights.paths as paths
from yunying.ingest.writer import write_events
from yunying.insights import run_query
from yunying.insights.paths_kernel import NO_ANCHOR, Slots, anchor_keys, apply_order, nearest_rows
from yunying.store import connect

NAMES = ["view", "cart", "buy", "$pageview", "搜索"]
UUID_PARTS = ["a", "ab", "b", "B", "0", "é", "中", "😀", "z9", "-"]
START = dt.datetime(2024, 3, 1, 2, 0)


def _tied_log(seed: int, users: int = 6, n: int = 160) -> list[Event]:
    """Events on a handful of distinct instants per user (so most of them tie), shuffled."""
    rng = random.Random(seed)
    instants = [START + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 3)) for _ in range(12)]
    events = []
    for i in range(n):
        # unique uuids whose string order has nothing to do with i
        uuid = "".join(rng.choice(UUID_PARTS) for _ in range(rng.randint(1, 3))) + f"#{i}"
        events.append({
            "uuid": uuid, "event": rng.choice(NAMES), "distinct_id": f"u{rng.randint(1, users)}",
            "timestamp": rng.choice(instants) + dt.timedelta(microseconds=rng.choice([0, 0, 0, 1])),
            "properties": {"k": rng.choice(["x", "y"])},
        })
    rng.shuffle(events)
    return events


def _documents(rng: random.Random) -> list[dict[str, Any]]:
    docs = []
    for direction in ("after", "before"):
        for steps in (1, 2, 3, 5, 10):
            event = rng.choice(NAMES)
            doc = {"kind": "paths", "date_from": "2024-02-28", "date_to": "2024-03-06",
                   "event": event, "direction": direction, "steps": steps}
            if rng.random() < 0.4:
                doc["exclude_events"] = rng.sample([n for n in NAMES if n != event], rng.randint(1, 2))
            if rng.random() < 0.2:
                doc["filters"] = [{"property": "k", "operator": "eq", "value": "x"}]
            docs.append(doc)
    return docs


def _in_memory_tables(store: Any) -> list[str]:
    """ibis in-memory tables left registered (the runner drops its own after use)."""
    if store.kind == "duckdb":
        return [r[0] for r in store.duckdb.sql("SELECT view_name FROM duckdb_views() "
                                               "WHERE view_name LIKE 'ibis%memtable%'").fetchall()]
    return [t.name for t in store.backend._session.catalog.listTables() if "memtable" in t.name]


def _check(log: LoadedLog, doc: dict[str, Any]) -> dict[str, Any]:
    actual = log.run(doc)
    oracle.assert_same(actual, log.oracle(doc))
    # the lists come ordered by depth, users descending, then names
    assert actual["links"] == sorted(actual["links"], key=lambda r: (r["depth"], -r["users"], r["source"],
                                                                      r["target"]))
    assert actual["dropoff"] == sorted(actual["dropoff"], key=lambda r: (r["depth"], -r["users"], r["event"]))
    return actual


@pytest.mark.parametrize("seed", range(12))
def test_tie_heavy_logs_match_the_oracle(load_log: LogLoader, seed: int) -> None:
    log = load_log(_tied_log(seed), "Asia/Shanghai")
    for doc in _documents(random.Random(seed)):
        _check(log, doc)


def test_the_uuid_route_is_taken_and_needed(load_log: LogLoader, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tie at the anchor: the uuids decide what follows it, and the runner reads them."""
    t = START
    events = [  # ann: cart and view at the same instant; by uuid, view ("a") comes first
        {"uuid": "b", "event": "cart", "distinct_id": "ann", "timestamp": t, "properties": {}},
        {"uuid": "a", "event": "view", "distinct_id": "ann", "timestamp": t, "properties": {}},
        {"uuid": "c", "event": "buy", "distinct_id": "ann", "timestamp": t + dt.timedelta(seconds=1),
         "properties": {}},
        # bob: no ties at all (the buffer route)
        {"uuid": "d", "event": "view", "distinct_id": "bob", "timestamp": t, "properties": {}},
        {"uuid": "e", "event": "buy", "distinct_id": "bob", "timestamp": t + dt.timedelta(seconds=2),
         "properties": {}},
    ]
    log = load_log(events, "UTC")
    calls = []
    read = paths._rows_in_spans
    monkeypatch.setattr(paths, "_rows_in_spans", lambda *a: calls.append(a) or read(*a))
    after = _check(log, {"kind": "paths", "date_from": "2024-03-01", "date_to": "2024-03-01",
                         "event": "view", "steps": 2})
    assert len(calls) == 1 and len(calls[0][2]) == 1  # ann's rows only
    assert [(r["depth"], r["source"], r["target"], r["users"]) for r in after["links"]] == [
        (1, "view", "buy", 1), (1, "view", "cart", 1), (2, "cart", "buy", 1)]
    before = _check(log, {"kind": "paths", "date_from": "2024-03-01", "date_to": "2024-03-01",
                          "event": "cart", "direction": "before", "steps": 3})
    assert before["links"] == [{"depth": 1, "source": "cart", "target": "view", "users": 1}]
    assert len(calls) == 2
    assert _in_memory_tables(log.store) == []


def test_events_changing_between_the_reads(load_log: LogLoader, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the uuid read does not match the first read, everything is read again."""
    log = load_log(_tied_log(99), "Asia/Shanghai")
    doc = {"kind": "paths", "date_from": "2024-02-28", "date_to": "2024-03-06", "event": "view", "steps": 4}
    read = paths._rows_in_spans
    spoiled = []

    def flaky(*args: Any) -> pa.Table:
        rows = read(*args)
        if not spoiled:
            spoiled.append(True)
            return rows.slice(1)  # as if a row had gone
        return rows

    monkeypatch.setattr(paths, "_rows_in_spans", flaky)
    _check(log, doc)
    assert spoiled
    monkeypatch.setattr(paths, "_rows_in_spans", lambda *a: read(*a).slice(1))
    with pytest.raises(RuntimeError, match="changed"):
        log.run(doc)


# ----------------------------------------------------------------------------- the kernel alone
def _reference(slot: np.ndarray, ts: np.ndarray, code: np.ndarray, anchor: int, k: int,
               before: bool) -> dict[int, list[int]]:
    """Per slot with an anchor: its path by timestamp alone (only meaningful without ties)."""
    out = {}
    for s in np.unique(slot):
        rows = sorted(zip(ts[slot == s].tolist(), code[slot == s].tolist(), strict=True), reverse=before)
        at = next((i for i, (_, c) in enumerate(rows) if c == anchor), None)
        if at is not None:
            out[int(s)] = [c for _, c in rows[at:at + k]]
    return out


@pytest.mark.parametrize("before", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_nearest_rows_is_the_path_unless_flagged(seed: int, before: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 4000
    slot = rng.integers(0, 300, n)
    ts = rng.integers(0, 3000 if seed % 2 else 10**9, n)  # odd seeds: many ties
    code = rng.integers(0, 4, n).astype(np.int32)
    k = int(rng.integers(2, 8))
    key_a = anchor_keys(slot, ts, code, 300, 0, before)
    anchored = np.flatnonzero(key_a != NO_ANCHOR)
    number = np.full(300, -1, np.int64)
    number[anchored] = np.arange(anchored.size)
    path, length, tied = nearest_rows(slot, ts, code, number, key_a[anchored], k, before)
    expected = _reference(slot, ts, code, 0, k, before)
    assert sorted(expected) == anchored.tolist()
    for p, s in enumerate(anchored.tolist()):
        rows = ts[slot == s].tolist()
        if before:
            window = sorted((t for t in rows if t <= -key_a[s]), reverse=True)
        else:
            window = sorted(t for t in rows if t >= key_a[s])
        kept = window[:k]
        if len(set(kept)) < len(kept) or (len(window) > k and window[k] == window[k - 1]):
            assert tied[p]  # the uuids decide: never taken from the buffer
        if not tied[p]:
            assert path[p, :length[p]].tolist() == expected[s]
            assert (path[p, length[p]:] == -1).all()
    if seed % 2 == 0:
        assert not tied.any()


def test_apply_order_refuses_rows_that_do_not_match() -> None:
    ts = np.array([5, 5, 7], np.int64)
    code = np.array([0, 1, 2], np.int32)
    lo, hi = np.array([0]), np.array([2])
    one = np.zeros(3, np.int64)
    assert apply_order(ts.copy(), code.copy(), lo, hi, one, ts, np.array([1, 0, 2], np.int32))
    assert not apply_order(ts.copy(), code.copy(), lo, hi, one[:2], ts[:2], code[:2])  # a row gone
    assert not apply_order(ts.copy(), code.copy(), lo, hi, one, np.array([5, 6, 7]), code)  # moved
    assert not apply_order(ts.copy(), code.copy(), lo, hi, np.array([0, 1, 1]), ts, code)  # other person
    assert not apply_order(ts.copy(), code.copy(), lo, hi, one[:0], ts[:0], code[:0])  # none at all
    changed = code.copy()
    apply_order(ts.copy(), changed, lo, hi, one, ts, np.array([1, 0, 2], np.int32))
    assert changed.tolist() == [1, 0, 2]


@pytest.mark.parametrize("ids", [
    [1, 2, 3, 2, 1],  # the store's ids: their own slots
    [10**6 + 3, 10**6 + 1, 10**6 + 3],  # far from 0: shifted
    [5, 10**12, 7, 10**12, -4],  # far apart: ranked
    [],
])
def test_slots_number_every_person(ids: list[int]) -> None:
    person = np.array(ids, np.int64)
    slots = Slots(person)
    assert slots.of_rows.shape == person.shape
    assert ((slots.of_rows >= 0) & (slots.of_rows < max(slots.count, 1))).all()
    assert slots.person(slots.of_rows).tolist() == ids
    assert slots.slot(person).tolist() == slots.of_rows.tolist()
    assert slots.count <= 2 * len(ids) + (1 << 16)


def test_persons_with_ids_far_apart() -> None:
    """Another project's persons in between: one project's person ids are far apart."""
    store = connect(":memory:")
    project = store.create_project("far", "UTC")
    first = _tied_log(5, users=3, n=40)
    write_events(store, project, events_to_arrow(first))
    filler = [{"uuid": f"f{i}", "event": "x", "distinct_id": f"f{i}", "timestamp": START, "properties": {}}
              for i in range(70_000)]
    write_events(store, store.create_project("filler", "UTC"), events_to_arrow(filler))
    more = [{**e, "uuid": e["uuid"] + "+", "distinct_id": e["distinct_id"] + "+"}
            for e in _tied_log(6, 3, 40)]
    write_events(store, project, events_to_arrow(more))
    ids = store.events(project).person_id.to_pyarrow().to_numpy()
    assert ids.max() - ids.min() > 2 * ids.size + (1 << 16)  # ranked, not shifted
    log = LoadedLog(store, project, first + more)
    try:
        for doc in _documents(random.Random(5)):
            _check(log, doc)
    finally:
        store.close()


# ----------------------------------------------------------------------------- Spark
@pytest.mark.spark
def test_tie_heavy_logs_on_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """The uuid route on Spark (a join with an in-memory table of spans) gives DuckDB's result."""
    from yunying.store.spark import connect_spark, copy_to_spark

    duck = connect(":memory:")
    projects = []
    for seed in range(3):
        project = duck.ensure_project(f"tied{seed}", "Asia/Shanghai")
        write_events(duck, project, events_to_arrow(_tied_log(seed)))
        projects.append(project)
    spark = connect_spark()
    copy_to_spark(duck, spark)
    spans_read = 0
    read = paths._rows_in_spans
    monkeypatch.setattr(paths, "_rows_in_spans", lambda *a: calls.append(1) or read(*a))
    calls: list[int] = []
    try:
        for seed, project in enumerate(projects):
            for doc in _documents(random.Random(seed)):
                expected = run_query(duck, project, doc).to_json()
                calls.clear()
                assert run_query(spark, project, doc).to_json() == expected
                spans_read += bool(calls)
        assert _in_memory_tables(spark) == []
    finally:
        duck.close()
    assert spans_read > 5
