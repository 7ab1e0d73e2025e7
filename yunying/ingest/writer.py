"""The single writer: canonical events -> the store, deduplicated, identity resolved, atomic.

Every write path (file import now, the ingestion server later) ends here, so the rules live
in one place:

* **atomic** — a batch is written in one transaction: all of its new events or none
  (:func:`write_events`); a caller that needs a larger unit (a whole imported file) opens
  :func:`transaction` itself and calls :func:`insert_select` (rows go straight from their
  query into ``events``, one pass, nothing staged) or, when a uuid repeats inside the batch,
  stages them (:func:`staged_select`) and calls :func:`insert_staged` inside it;
* **deduplicated** — an event whose ``uuid`` is already stored for the project (looked for
  among events within ``dedup_window_days`` of the batch's time span) or repeated inside the
  batch is skipped and counted as a duplicate;
* **identity** — every ``distinct_id`` gets a dense integer ``person_id`` per store (the
  ``persons`` table); insights count persons, so later identity merges re-map ids, not events;
* **materialised properties** — the typed columns of ``schema.MATERIALIZED_PROPERTIES`` are
  filled from the JSON by DuckDB's own JSON lookup, so a typed column and a JSON lookup of
  the same key always agree.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from yunying import settings
from yunying.store import Project, Store, schema
from yunying.store.properties import json_pointer

_batch_names = (f"_yunying_batch_{i}" for i in itertools.count())


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    duplicates: int


@contextmanager
def transaction(store: Store, *, commit: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Hold the store's write lock and one transaction; commit on success, else roll back.

    ``commit=False`` always rolls back (a dry run sees exactly what a real write would do).
    """
    con = store.duckdb
    with store.write_lock():
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT" if commit else "ROLLBACK")


def extract_materialised(properties_sql: str) -> str:
    """One JSON parse of ``properties_sql`` giving every materialised property, as a list.

    Alias it ``_mat`` and select :func:`materialised_values` from it: the values in the order of
    ``schema.MATERIALIZED_PROPERTIES`` (the order of the ``mat_*`` columns of ``events``).
    """
    paths = ", ".join(f"'{json_pointer(prop)}'" for prop in schema.MATERIALIZED_PROPERTIES)
    return f"json_extract_string({properties_sql}, [{paths}])"


def materialised_values(alias: str = "") -> str:
    """``_mat[1], _mat[2] …`` (qualified by ``alias``): the ``mat_*`` columns' values."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}_mat[{i}]" for i in range(1, len(schema.MATERIALIZED_PROPERTIES) + 1))


def staged_select(canonical_sql: str) -> str:
    """A SELECT adding ``_mat`` (the materialised property values) to ``canonical_sql``.

    Materialise its result (``CREATE TEMP TABLE … AS``) and hand the table to
    :func:`insert_staged`; computing ``_mat`` while staging parses each properties text once,
    in the same parallel pass that builds it.
    """
    return f"SELECT *, {extract_materialised('properties')} AS _mat FROM ({canonical_sql})"


def insert_staged(
    con: duckdb.DuckDBPyConnection, project: Project, staged: str, first_by: str = "rowid"
) -> WriteResult:
    """Insert the rows of temp table ``staged`` into ``project``; caller holds a transaction.

    ``staged`` (an internal name, never user input) has the columns of
    ``schema.CANONICAL_EVENT`` (non-null) and ``_mat`` as made by :func:`staged_select`. The
    writer deletes duplicate rows from it: repeats of a uuid inside it (the first row by
    ``first_by``, an internal column name, is kept) and uuids already stored near its time
    span.
    """
    pid = project.project_id
    total = con.execute(f"SELECT count(*), count(DISTINCT uuid) FROM {staged}").fetchone()
    assert total is not None
    rows, distinct = int(total[0]), int(total[1])
    if rows == 0:
        return WriteResult(0, 0)
    if distinct < rows:  # rare: only then pay for the window
        con.execute(
            f"""DELETE FROM {staged} WHERE rowid IN (
                  SELECT rowid FROM (SELECT rowid, row_number() OVER (
                    PARTITION BY uuid ORDER BY {first_by}) AS n FROM {staged}) WHERE n > 1)"""
        )
    has_events = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE project_id = ? LIMIT 1)", [pid]
    ).fetchone()
    if has_events and has_events[0]:
        window_days = int(settings.get("dedup_window_days"))
        con.execute(
            f"""DELETE FROM {staged} WHERE uuid IN (
                  SELECT uuid FROM events
                  WHERE project_id = $pid
                    AND timestamp >= (SELECT min(timestamp) FROM {staged})
                                     - INTERVAL {window_days} DAY
                    AND timestamp <= (SELECT max(timestamp) FROM {staged})
                                     + INTERVAL {window_days} DAY)""",
            {"pid": pid},
        )
    inserted = int(con.execute(f"SELECT count(*) FROM {staged}").fetchone()[0])  # type: ignore[index]
    # new distinct_ids get the next person ids (dense, per store).
    con.execute(
        f"""INSERT INTO persons
           SELECT $pid, distinct_id,
                  (SELECT coalesce(max(person_id), 0) FROM persons)
                    + row_number() OVER (ORDER BY first_ts, distinct_id)
           FROM (SELECT distinct_id, min(timestamp) AS first_ts FROM {staged}
                 GROUP BY distinct_id) AS n
           WHERE NOT EXISTS (SELECT 1 FROM persons p
                             WHERE p.project_id = $pid AND p.distinct_id = n.distinct_id)""",
        {"pid": pid},
    )
    mat = materialised_values("n")
    con.execute(
        f"""INSERT INTO events
            SELECT $pid, n.uuid, n.event, n.distinct_id, p.person_id, n.timestamp,
                   n.properties, {mat}, now()::TIMESTAMP
            FROM {staged} AS n
            JOIN (SELECT distinct_id, person_id FROM persons WHERE project_id = $pid) AS p
              USING (distinct_id)""",
        {"pid": pid},
    )
    return WriteResult(inserted=inserted, duplicates=rows - inserted)


@dataclass(frozen=True)
class BatchCheck:
    """What one aggregate pass over a batch found (see :func:`check_sql`)."""

    rows: int  # all rows
    bad: int  # rows with a rejection reason
    unique: bool  # the good rows' uuids are pairwise different (exact)

    @property
    def good(self) -> int:
        return self.rows - self.bad


def check_batch(
    con: duckdb.DuckDBPyConnection, rows_sql: str, params: dict[str, object], good: str
) -> BatchCheck:
    """Count the rows of ``rows_sql`` and the bad ones, and find out if good uuids repeat.

    ``good`` is the SQL condition of a good row. Uniqueness is decided on a 64-bit hash of
    the uuid (a small hash table); only when two hashes are equal are the uuids themselves
    compared, so the answer is exact.
    """
    row = con.execute(
        f"""SELECT count(*), count(*) FILTER (NOT ({good})),
                   count(DISTINCT hash(uuid)) FILTER ({good})
            FROM ({rows_sql})""", params).fetchone()
    assert row is not None
    rows, bad, hashes = int(row[0]), int(row[1]), int(row[2])
    unique = hashes == rows - bad
    if not unique:  # a hash collision or a real repeat: compare the uuids themselves
        exact = con.execute(
            f"SELECT count(DISTINCT uuid) FROM ({rows_sql}) WHERE {good}", params).fetchone()
        unique = exact is not None and int(exact[0]) == rows - bad
    return BatchCheck(rows, bad, unique)


def insert_select(
    con: duckdb.DuckDBPyConnection, project: Project, rows_sql: str, params: dict[str, object],
    *, good: str | None, rows: int,
) -> WriteResult:
    """Insert the rows of ``rows_sql`` (canonical columns, uuids unique) into ``project``.

    The caller holds a transaction and has checked (:func:`check_batch`) that the uuids of the
    rows meeting ``good`` (an SQL condition, or None: every row) are unique; ``rows`` is how
    many there are. Rows whose uuid is already stored near the batch's time span are skipped
    (duplicates). The rows are read straight from ``rows_sql`` (nothing is staged): once for
    the new persons (one aggregate per distinct_id) and once for the ``INSERT``, which joins a
    table of only the batch's persons and extracts all materialised properties in one JSON
    parse per row.
    """
    pid = project.project_id
    if rows == 0:
        return WriteResult(0, 0)
    conditions = [good] if good else []
    p = {**params, "pid": pid}
    has_events = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE project_id = ? LIMIT 1)", [pid]
    ).fetchone()
    if has_events and has_events[0]:
        span = con.execute(
            f"SELECT min(timestamp), max(timestamp) FROM ({rows_sql}) AS n"
            + (f" WHERE {good}" if good else ""), params).fetchone()
        assert span is not None
        window = dt.timedelta(days=int(settings.get("dedup_window_days")))
        p["lo"], p["hi"] = span[0] - window, span[1] + window
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM events AS e WHERE e.project_id = $pid "
            "AND e.timestamp BETWEEN $lo AND $hi AND e.uuid = n.uuid)")
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    ids, idmap = next(_batch_names) + "_ids", next(_batch_names) + "_idmap"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ids} AS
            SELECT distinct_id, min(timestamp) AS first_ts FROM ({rows_sql}) AS n{where}
            GROUP BY distinct_id""", _used(f"{rows_sql}{where}", p))
    add_persons(con, pid, ids)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {idmap} AS
            SELECT i.distinct_id, p.person_id FROM {ids} AS i
            JOIN persons AS p ON p.project_id = $pid AND p.distinct_id = i.distinct_id""",
        {"pid": pid})
    insert = f"""INSERT INTO events
        SELECT $pid, uuid, event, distinct_id, person_id, timestamp, properties, {materialised_values()},
               now()::TIMESTAMP
        FROM (SELECT n.uuid, n.event, n.distinct_id, m.person_id, n.timestamp, n.properties,
                     {extract_materialised("n.properties")} AS _mat
              FROM ({rows_sql}) AS n JOIN {idmap} AS m USING (distinct_id){where})"""
    done = con.execute(insert, _used(insert, p)).fetchone()
    con.execute(f"DROP TABLE {ids}")
    con.execute(f"DROP TABLE {idmap}")
    inserted = int(done[0]) if done else 0
    return WriteResult(inserted=inserted, duplicates=rows - inserted)


def _used(sql: str, params: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def add_persons(con: duckdb.DuckDBPyConnection, pid: int, ids: str) -> int:
    """New distinct_ids of ``ids`` (distinct_id, first_ts) get the next dense person ids.

    Returns how many persons were created.
    """
    done = con.execute(
        f"""INSERT INTO persons
           SELECT $pid, distinct_id,
                  (SELECT coalesce(max(person_id), 0) FROM persons)
                    + row_number() OVER (ORDER BY first_ts, distinct_id)
           FROM {ids} AS n
           WHERE NOT EXISTS (SELECT 1 FROM persons p
                             WHERE p.project_id = $pid AND p.distinct_id = n.distinct_id)""",
        {"pid": pid},
    ).fetchall()
    return int(done[0][0]) if done else 0


def write_events(store: Store, project: Project, events: pa.Table) -> WriteResult:
    """Write canonical events (schema ``schema.CANONICAL_EVENT``) into ``project``.

    One transaction. Returns how many were inserted and how many were skipped as duplicates.
    """
    if events.num_rows == 0:
        return WriteResult(0, 0)
    events = events.select([f.name for f in schema.CANONICAL_EVENT]).cast(schema.CANONICAL_EVENT)
    name = next(_batch_names)
    con = store.duckdb
    con.register(name, events)
    try:
        with transaction(store):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_staged AS "
                        + staged_select(f"SELECT * FROM {name}"))
            result = insert_staged(con, project, f"{name}_staged")
            con.execute(f"DROP TABLE {name}_staged")
    finally:
        con.unregister(name)
    return result
