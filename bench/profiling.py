"""Where yunying's time goes, inside the yunying worker (largest size only).

For every insight: wall time of ``run_query``, split into the Ibis → DuckDB calls it makes
(each call's SQL re-run directly on the DuckDB connection gives the engine's own time; the
rest of the call is Ibis compilation and result conversion) and the Python outside those
calls. For the funnel additionally: the numba pass (and its ordering step), and the glue
between fetch and pass, timed piece by piece on the fetched rows; plus the fetch written as
plain SQL (what DuckDB needs at least to hand over the same rows).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench.queries import FUNNEL_STEPS, QUERIES, Window

Timings = dict[str, float]


def _seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


@contextmanager
def _patched(owner: Any, name: str, record: list[tuple[float, Any]]) -> Iterator[None]:
    """Replace ``owner.name`` by a wrapper recording (seconds, first argument) per call."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seconds, value = _seconds(lambda: original(*args, **kwargs))
        record.append((seconds, args[0] if args else None))
        return value

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        if owner.__dict__.get(name) is wrapper and hasattr(type(owner), name) \
                and not isinstance(owner, type):
            delattr(owner, name)  # an instance attribute shadowing the class method
        else:
            setattr(owner, name, original)


def _duckdb_calls(engine: Any, calls: list[tuple[float, Any]]) -> list[dict[str, Any]]:
    """Per Ibis call: its time, the compile time and DuckDB's time for the same SQL."""
    backend = engine.store.backend
    out = []
    for seconds, expr in calls:
        compile_s, sql = _seconds(lambda e=expr: backend.compile(e.as_table()))
        duck_s, table = _seconds(lambda s=sql: backend.con.sql(s).to_arrow_table())
        out.append({"seconds": seconds, "compile": compile_s, "duckdb": duck_s,
                    "rows": table.num_rows, "sql": sql})
    return out


def _one_run(engine: Any, name: str, window: Window) -> dict[str, Any]:
    calls: list[tuple[float, Any]] = []
    with _patched(engine.store.backend, "to_pyarrow", calls):
        total, _ = _seconds(lambda: engine.run(QUERIES[name], window))
    detail = _duckdb_calls(engine, calls)
    in_calls = sum(c["seconds"] for c in detail)
    return {
        "total": total,
        "duckdb": sum(c["duckdb"] for c in detail),
        "ibis_compile": sum(c["compile"] for c in detail),
        "ibis_other": in_calls - sum(c["duckdb"] + c["compile"] for c in detail),
        "python_outside_calls": total - in_calls,
        "calls": detail,
    }


def _median_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["calls"] = [
        {"rows": c["rows"], "duckdb": statistics.median(r["calls"][i]["duckdb"] for r in runs),
         "seconds": statistics.median(r["calls"][i]["seconds"] for r in runs), "sql": c["sql"]}
        for i, c in enumerate(runs[0]["calls"])
    ]
    return out


def profile_calls(engine: Any, name: str, window: Window, reps: int) -> dict[str, Any]:
    engine.run(QUERIES[name], window)  # warm
    return _median_runs([_one_run(engine, name, window) for _ in range(reps)])


# ------------------------------------------------------------------------------ funnel
def _funnel_stages(engine: Any, window: Window) -> Timings:
    """One funnel run with fetch, numba pass and result building timed separately."""
    from yunying.insights import funnel

    fetch: list[tuple[float, Any]] = []
    kernel: list[tuple[float, Any]] = []
    steps: list[tuple[float, Any]] = []
    with _patched(funnel, "_fetch_rows", fetch), _patched(funnel, "funnel_pass", kernel), \
            _patched(funnel, "_steps_result", steps):
        total, _ = _seconds(lambda: engine.run(QUERIES["funnel"], window))
    parts = {"fetch (Ibis + DuckDB + Arrow)": fetch[0][0], "numba pass": kernel[0][0],
             "result (medians, pydantic)": sum(s for s, _ in steps)}
    glue = total - sum(parts.values())
    return {"total": total, **parts, "glue (numpy between fetch and pass)": glue}


def _renumber(person: np.ndarray) -> tuple[str, np.ndarray, int]:
    """Dense person numbers the way funnel.run makes them (``dense_ids``, else ``np.unique``)."""
    from yunying.insights import funnel

    dense_ids = getattr(funnel, "dense_ids", None)
    if dense_ids is not None:
        dense, n = dense_ids(person.astype(np.int64))
        return "dense_ids (person re-numbering)", dense, int(n)
    uniq, inverse = np.unique(person, return_inverse=True)
    return "np.unique(return_inverse)", inverse.astype(np.int64), len(uniq)


def _glue_pieces(engine: Any, window: Window) -> tuple[Timings, dict[str, Any]]:
    """The conversions funnel.run does between fetch and pass, each timed on real rows, and
    the same numba pass once more on the rows pre-sorted by (person, time)."""
    from yunying.insights import funnel
    from yunying.insights.base import QueryContext
    from yunying.insights.daterange import DateRange
    from yunying.insights.funnel_kernel import _group_by_person, funnel_pass

    query = funnel.FunnelQuery.model_validate(QUERIES["funnel"].document(window))
    ctx = QueryContext(engine.store, engine.project)
    daterange = DateRange(query.date_from, query.date_to, window.timezone)
    rows = funnel._fetch_rows(query, ctx, daterange)
    person_s, person = _seconds(lambda: rows.column("person_id").to_numpy())
    renumber_s, (how, dense, n) = _seconds(lambda: _renumber(person))
    micros_s, ts = _seconds(lambda: funnel._as_micros(rows.column("timestamp")))
    mask_s, masks = _seconds(lambda: rows.column("mask").to_numpy().astype(np.int64))
    codes = np.zeros(len(dense), np.int64)
    order_s, _ = _seconds(lambda: _group_by_person(dense, ts, masks, codes, n))
    window_us = query.window_seconds * 1_000_000
    steps = len(query.steps)
    as_run_s, _ = _seconds(lambda: funnel_pass(dense, ts, masks, codes, n, steps, window_us))
    pieces = {"person_id to numpy": person_s, how: renumber_s,
              "timestamps to int64 µs": micros_s, "mask to int64": mask_s,
              "numba: rows into (person, time) order (inside the pass)": order_s,
              "numba pass, whole (grouping + scan)": as_run_s}
    info = {"rows": rows.num_rows, "persons": n,
            "person_id_range": [int(person.min()), int(person.max())] if len(person) else None}
    return pieces, info


def _plain_fetch_sql(window: Window, project_id: int) -> str:
    zone = ZoneInfo(window.timezone)
    lo = dt.datetime.combine(dt.date.fromisoformat(window.date_from), dt.time(), zone)
    hi = dt.datetime.combine(dt.date.fromisoformat(window.date_to) + dt.timedelta(days=1),
                             dt.time(), zone)
    utc = [v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ") for v in (lo, hi)]
    mask = " ".join(f"WHEN '{e}' THEN {1 << i}" for i, e in enumerate(FUNNEL_STEPS))
    names = ", ".join(f"'{e}'" for e in FUNNEL_STEPS)
    return (f"SELECT person_id, epoch_us(timestamp) AS t, CASE event {mask} END AS mask "
            f"FROM events WHERE project_id = {project_id} AND event IN ({names}) "
            f"AND timestamp >= TIMESTAMP '{utc[0]}' AND timestamp < TIMESTAMP '{utc[1]}'")


def profile_funnel(engine: Any, window: Window, reps: int) -> dict[str, Any]:
    engine.run(QUERIES["funnel"], window)  # warm (numba compile, caches)
    stages = [_funnel_stages(engine, window) for _ in range(reps)]
    glue = [_glue_pieces(engine, window) for _ in range(reps)]
    sql = _plain_fetch_sql(window, engine.project.project_id)
    con = engine.store.backend.con
    plain = [_seconds(lambda: con.sql(sql).to_arrow_table())[0] for _ in range(reps)]
    return {
        "stages": {k: statistics.median(s[k] for s in stages) for k in stages[0]},
        "glue": {k: statistics.median(g[0][k] for g in glue) for k in glue[0][0]},
        "rows": glue[0][1],
        "plain_sql_fetch": {"seconds": statistics.median(plain), "sql": sql},
        "calls": profile_calls(engine, "funnel", window, reps),
    }


def profile_all(engine: Any, window: Window, reps: int = 3) -> dict[str, Any]:
    return {
        "funnel": profile_funnel(engine, window, reps),
        "trend": profile_calls(engine, "trend", window, reps),
        "retention": profile_calls(engine, "retention", window, reps),
    }
