"""The single writer: canonical events -> the store, deduplicated, identity resolved, atomic.

Every write path (file import now, the ingestion server later) ends here, so the rules live
in one place:

* **atomic** — a batch is written in one transaction: all of its new events or none;
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

import itertools
from dataclasses import dataclass

import pyarrow as pa

from yunying import settings
from yunying.store import Project, Store, schema

_batch_names = (f"_yunying_batch_{i}" for i in itertools.count())


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    duplicates: int


def json_pointer(key: str) -> str:
    """RFC 6901 pointer for a top-level key: exact for any key ('/', '~', '.', quotes, 中文)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def write_events(store: Store, project: Project, events: pa.Table) -> WriteResult:
    """Write canonical events (schema ``schema.CANONICAL_EVENT``) into ``project``.

    Returns how many were inserted and how many were skipped as duplicates.
    """
    if events.num_rows == 0:
        return WriteResult(0, 0)
    events = events.select([f.name for f in schema.CANONICAL_EVENT]).cast(schema.CANONICAL_EVENT)
    con = store.duckdb
    name = next(_batch_names)
    window_days = int(settings.get("dedup_window_days"))
    pid = project.project_id
    with store.write_lock():
        con.register(name, events)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                # 1. the batch without in-batch repeats (first occurrence wins) and without
                #    uuids already stored near the batch's time span.
                has_events = con.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM events WHERE project_id = ? LIMIT 1)", [pid]
                ).fetchone()[0]
                stored_filter = ""
                params: list[object] = []
                if has_events:
                    stored_filter = f"""
                      AND uuid NOT IN (
                        SELECT uuid FROM events
                        WHERE project_id = ?
                          AND timestamp >= (SELECT min(timestamp) FROM {name}) - INTERVAL {window_days} DAY
                          AND timestamp <= (SELECT max(timestamp) FROM {name}) + INTERVAL {window_days} DAY)"""
                    params.append(pid)
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _yunying_new AS
                        SELECT * FROM (
                          SELECT *, row_number() OVER (PARTITION BY uuid) AS _n FROM {name}
                        ) WHERE _n = 1 {stored_filter}""",
                    params,
                )
                inserted = con.execute("SELECT count(*) FROM _yunying_new").fetchone()[0]
                # 2. new distinct_ids get the next person ids (dense, per store).
                con.execute(
                    """INSERT INTO persons
                       SELECT ?, distinct_id,
                              (SELECT coalesce(max(person_id), 0) FROM persons)
                                + row_number() OVER (ORDER BY first_ts, distinct_id)
                       FROM (SELECT distinct_id, min(timestamp) AS first_ts FROM _yunying_new
                             GROUP BY distinct_id) AS n
                       WHERE NOT EXISTS (SELECT 1 FROM persons p
                                         WHERE p.project_id = ? AND p.distinct_id = n.distinct_id)""",
                    [pid, pid],
                )
                # 3. the events themselves, with materialised property columns.
                mat = ", ".join(
                    f"json_extract_string(n.properties, '{json_pointer(prop)}')"
                    for prop in schema.MATERIALIZED_PROPERTIES
                )
                con.execute(
                    f"""INSERT INTO events
                        SELECT ?, n.uuid, n.event, n.distinct_id, p.person_id, n.timestamp,
                               n.properties, {mat}, now()::TIMESTAMP
                        FROM _yunying_new AS n
                        JOIN (SELECT distinct_id, person_id FROM persons WHERE project_id = ?) AS p
                          USING (distinct_id)""",
                    [pid, pid],
                )
                con.execute("DROP TABLE _yunying_new")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.unregister(name)
    return WriteResult(inserted=int(inserted), duplicates=events.num_rows - int(inserted))
