"""Loading one Parquet file three ways, each in a fresh process, timed inside it.

* ``duckdb_ctas`` — the baseline: DuckDB's own ``CREATE TABLE t AS SELECT * FROM
  read_parquet(?)`` into a new database file.
* ``yunying_import`` — yunying's file import (``yunying.ingest.files.import_file``: parsing,
  validation, dedup by uuid, persons, materialised properties, one transaction) into a new
  store; ``yunying.ingest.writer.write_events`` on the Arrow table when the file import is
  not importable.
* ``clickhouse_insert`` — ``INSERT … SELECT … FROM file(…, Parquet)`` into a MergeTree table in
  PostHog's layout, then ``OPTIMIZE TABLE … FINAL`` (timed separately, reported, not part of
  the load time).

Each also reports the storage size and the process's peak RSS.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench import memory

TIMEZONE = "Asia/Shanghai"
CH_PROJECT_ID = 1

# PostHog's events layout (sharded_events): monthly partitions, sorted by team, UTC day, event,
# user hash. The last key is the timestamp instead of PostHog's cityHash64(uuid) (that one is
# for ReplacingMergeTree dedup, which this table does not do); a user's events of one day and
# event are then in time order.
CH_LAYOUT = ("PARTITION BY toYYYYMM(timestamp) "
             "ORDER BY (project_id, toDate(timestamp), event, cityHash64(distinct_id), timestamp)")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def duckdb_ctas(parquet: str, target: str) -> dict[str, Any]:
    import duckdb

    path = Path(target)
    _remove(path)
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute("CREATE TABLE events AS SELECT * FROM read_parquet(?)", [parquet])
    seconds = time.perf_counter() - started
    con.execute("CHECKPOINT")
    rows = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    return {"seconds": seconds, "rows": rows[0] if rows else 0,
            "storage_bytes": path.stat().st_size, "peak_rss": memory.peak_rss_bytes()}


def _import_with_files(store: Any, project: Any, parquet: str) -> tuple[str, int, int]:
    from yunying.ingest.files import import_file

    # timezone only applies to naive timestamps; the demo's are UTC instants
    report = import_file(store, project, Path(parquet), timezone="UTC")
    return "yunying.ingest.files.import_file", report.imported, report.rejected


def _import_with_writer(store: Any, project: Any, parquet: str) -> tuple[str, int, int]:
    import pyarrow.parquet as pq

    from yunying.ingest.writer import write_events

    table = pq.read_table(parquet)
    result = write_events(store, project, table)
    return "yunying.ingest.writer.write_events (file import not usable)", result.inserted, 0


def yunying_import(parquet: str, target: str) -> dict[str, Any]:
    from yunying.store import connect

    path = Path(target)
    _remove(path)
    store = connect(str(path))
    store.duckdb.execute("SET enable_progress_bar = false")  # output only, not the work
    project = store.ensure_project("bench", TIMEZONE)
    started = time.perf_counter()
    try:
        how, rows, rejected = _import_with_files(store, project, parquet)
    except ImportError:
        how, rows, rejected = _import_with_writer(store, project, parquet)
    seconds = time.perf_counter() - started
    store.duckdb.execute("CHECKPOINT")
    store.close()
    return {"seconds": seconds, "rows": rows, "rejected": rejected, "how": how,
            "project_id": project.project_id, "storage_bytes": path.stat().st_size,
            "peak_rss": memory.peak_rss_bytes()}


def clickhouse_ddl() -> str:
    from yunying.store.schema import MATERIALIZED_PROPERTIES

    # the same properties yunying materialises, as PostHog's mat_ columns
    materialised = "".join(
        f",\n    {column} String MATERIALIZED JSONExtractString(properties, '{key}')"
        for key, column in MATERIALIZED_PROPERTIES.items()
    )
    return f"""CREATE TABLE events (
    project_id Int32, uuid UUID, event String, distinct_id String,
    timestamp DateTime64(6, 'UTC'), properties String{materialised}
) ENGINE = MergeTree {CH_LAYOUT}"""


def clickhouse_insert(parquet: str, target: str) -> dict[str, Any]:
    from chdb import session

    path = Path(target)
    _remove(path)
    sess = session.Session(str(path))
    sess.query(clickhouse_ddl())
    started = time.perf_counter()
    sess.query(f"INSERT INTO events (project_id, uuid, event, distinct_id, timestamp, properties) "
               f"SELECT {CH_PROJECT_ID}, uuid, event, distinct_id, timestamp, properties "
               f"FROM file('{parquet}', Parquet)")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    sess.query("OPTIMIZE TABLE events FINAL")
    optimize = time.perf_counter() - started
    stats = sess.query("SELECT sum(rows), sum(bytes_on_disk) FROM system.parts "
                       "WHERE table = 'events' AND active", "CSV").data().strip().split(",")
    sess.close()
    return {"seconds": seconds, "optimize_seconds": optimize, "rows": int(stats[0]),
            "storage_bytes": int(stats[1]), "peak_rss": memory.peak_rss_bytes()}


LOADERS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "duckdb_ctas": duckdb_ctas,
    "yunying_import": yunying_import,
    "clickhouse_insert": clickhouse_insert,
}


def run_isolated(loader: str, parquet: str, target: str) -> dict[str, Any]:
    """Run one loader in a new process (so its memory and caches start cold)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(LOADERS[loader], parquet, target).result()
