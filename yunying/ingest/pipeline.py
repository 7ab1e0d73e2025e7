"""The ingestion writer: one thread, group commit, and an answer only once the data is on disk.

Capture requests :meth:`Writer.submit` their parsed batch and wait. The writer thread takes
everything queued (waiting up to ``commit_interval_ms`` after the first request, or until
``commit_max_events`` events are queued), writes it in **one transaction**, and commits;
DuckDB's commit syncs its write-ahead log to disk (``fdatasync``), and only then is each
waiting request answered. So an answered request is durable, and a ``kill -9`` at any moment
loses only unanswered requests — which their clients retry, and which deduplication
(:mod:`yunying.ingest.dedup_index`) keeps from being stored twice.

Inside a commit, per project, in this order: identity links, new persons, events (minus
duplicates), person operations, rejected messages (kept with their reasons). If the commit
fails, every request of the group is retried alone, so one poisoned request fails alone.

When more than ``max_pending_events`` events wait, :meth:`submit` raises :class:`Overloaded`
and the request is answered 503 with ``Retry-After``: memory stays bounded and the SDKs retry.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa

from yunying import settings
from yunying.ingest import identity
from yunying.ingest.batch import IngestBatch, Outcome
from yunying.ingest.dedup_index import DedupIndex, fingerprints
from yunying.ingest.person_index import PersonIndex
from yunying.ingest.stats import IngestStats, ProjectCounters
from yunying.ingest.writer import extract_materialised, materialised_values, transaction
from yunying.store import Project, Store
from yunying.store.connection import safe_size

log = logging.getLogger("yunying.ingest")

def _fingerprint(project_sql: str) -> str:
    """The fingerprint of an event id: the same expression when rebuilding and when writing."""
    return f"hash({project_sql}::INTEGER, uuid)"


class Overloaded(RuntimeError):
    """Too many events are waiting for the writer; the client should retry later."""


@dataclass
class Submission:
    project: Project
    batch: IngestBatch
    wire_format: str
    done: Callable[[Outcome | BaseException], None]  # called once, from the writer thread
    arrived: float = field(default_factory=time.monotonic)


class Job(Protocol):
    """Work that needs the write connection to itself (see :meth:`Writer.run_exclusive`)."""

    project: Project

    def run(self, store: Store) -> None: ...

    def finished(self, error: BaseException | None) -> None: ...


class Writer:
    """Owns the store's write connection while it runs (see the module docstring)."""

    def __init__(self, store: Store, stats: IngestStats) -> None:
        self.store = store
        self.stats = stats
        self.interval_s = settings.get("commit_interval_ms") / 1000
        self.max_events = int(settings.get("commit_max_events"))
        self.max_pending = int(settings.get("max_pending_events"))
        self.window_days = int(settings.get("dedup_window_days"))
        self._queue: deque[Submission] = deque()
        self._jobs: deque[Job] = deque()
        self._pending_events = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.index = DedupIndex(self.window_days * 1440)
        self.persons = PersonIndex()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        con = self.store.duckdb
        # A checkpoint runs inside the commit that crosses the threshold and stalls every
        # waiting request for its duration (mostly fixed: it rewrites the partly filled row
        # groups), so the server checkpoints rarely; a restart replays at most this much log.
        con.execute(f"SET checkpoint_threshold = '{int(settings.get('checkpoint_wal_bytes'))}B'")
        if not settings.get("duckdb_memory_limit"):
            con.execute(f"SET memory_limit = '{safe_size(settings.get('server_memory_limit'))}'")
        warm = DedupIndex(1)  # compile the index's kernels before the first request
        warm.add(warm.contains(np.ones(1, np.uint64)).astype(np.uint64) + np.uint64(1), 0)
        self._rebuild_index()
        self._thread = threading.Thread(target=self._run, name="yunying-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread:
            self._thread.join()

    @property
    def pending_events(self) -> int:
        return self._pending_events

    def _rebuild_index(self) -> None:
        """Fingerprints of every event stored within the dedup window (so restarts keep dedup)."""
        con = self.store.duckdb
        rows = con.execute(
            f"""SELECT {_fingerprint('project_id')} AS fp,
                       (epoch(inserted_at) // 60)::INTEGER AS minute
                FROM events WHERE inserted_at >= now()::TIMESTAMP - to_days($days)""",
            {"days": self.window_days}).fetchnumpy()
        if len(rows["fp"]):
            self.index = DedupIndex(self.window_days * 1440, capacity=len(rows["fp"]) * 2)
            self.index.add(fingerprints(rows["fp"]), rows["minute"])

    # ------------------------------------------------------------------ requests
    def submit(self, submission: Submission) -> None:
        n = submission.batch.event_count
        with self._cond:
            if self._stopping:
                raise Overloaded("the server is shutting down")
            if self._pending_events + n > self.max_pending and self._pending_events > 0:
                raise Overloaded(f"{self._pending_events} events are waiting to be written")
            self._queue.append(submission)
            self._pending_events += n
            self._cond.notify()

    def run_exclusive(self, job: Job) -> None:
        """Queue ``job`` to run on the writer thread between two commits (e.g. a file import).

        While it runs nothing else is written; capture requests wait in the queue (and get
        503 once ``max_pending_events`` wait). Afterwards the writer forgets its cached persons
        and remembers the ids of the events the job stored, so dedup and identity stay exact.
        """
        with self._cond:
            if self._stopping:
                raise Overloaded("the server is shutting down")
            self._jobs.append(job)
            self._cond.notify()

    def _take(self) -> list[Submission] | None:
        with self._cond:
            while not self._queue and not self._jobs and not self._stopping:
                self._cond.wait()
            if self._jobs:
                job = self._jobs.popleft()
                self._cond.release()
                try:
                    self._run_job(job)
                finally:
                    self._cond.acquire()
                return []
            if not self._queue:
                return None
            # gather for commit_interval_ms after the oldest request arrived: one that already
            # waited through the previous commit is written at once
            deadline = self._queue[0].arrived + self.interval_s
            while not self._stopping and self._pending_events < self.max_events:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            group, count = [], 0
            while self._queue and (not group or count + self._queue[0].batch.event_count <= self.max_events):
                sub = self._queue.popleft()
                group.append(sub)
                count += sub.batch.event_count
            self._pending_events -= count
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            if group:
                self._commit_group(group)

    def _run_job(self, job: Job) -> None:
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # before the job's transaction starts
        try:
            job.run(self.store)
        except BaseException as exc:  # the job reports its own failure; the writer goes on
            job.finished(exc)
            return
        finally:
            self.persons.reset()
        con = self.store.duckdb
        rows = con.execute(
            f"""SELECT {_fingerprint('project_id')} AS fp, (epoch(inserted_at) // 60)::INTEGER AS minute
                FROM events WHERE project_id = $pid AND inserted_at >= $since""",
            {"pid": job.project.project_id, "since": started}).fetchnumpy()
        if len(rows["fp"]):
            self.index.add(fingerprints(rows["fp"]), rows["minute"])
        self.stats.add(job.project.project_id, ProjectCounters(stored=len(rows["fp"])))
        job.finished(None)

    def _commit_group(self, group: list[Submission]) -> None:
        started = time.perf_counter()
        try:
            outcomes, remember, counted = self._write(group)
        except Exception as exc:  # isolate the failing request: each again, alone
            self.persons.reset()  # it may hold persons of the rolled-back transaction
            if len(group) > 1:
                for sub in group:
                    self._commit_group([sub])
                return
            log.exception("writing a %s request failed", group[0].wire_format)
            group[0].done(exc)
            return
        for fps, minute in remember:
            self.index.add(fps, minute)
        for pid, delta in counted:
            self.stats.add(pid, delta)
        self.stats.count_commit(sum(s.batch.event_count for s in group), time.perf_counter() - started)
        for sub, outcome in zip(group, outcomes, strict=True):
            sub.done(outcome)

    # ------------------------------------------------------------------ one commit
    def _write(self, group: list[Submission]) -> tuple[
            list[Outcome], list[tuple[np.ndarray, int]], list[tuple[int, ProjectCounters]]]:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        minute = int((now - dt.datetime(1970, 1, 1)).total_seconds() // 60)
        outcomes = [Outcome(rejected=list(s.batch.rejected)) for s in group]
        remember: list[tuple[np.ndarray, int]] = []
        counted: list[tuple[int, ProjectCounters]] = []
        by_project: dict[int, list[int]] = {}
        for i, sub in enumerate(group):
            by_project.setdefault(sub.project.project_id, []).append(i)
        with transaction(self.store) as con:
            for pid, members in by_project.items():
                counters = ProjectCounters()
                counted.append((pid, counters))
                fps = self._write_project(con, pid, [group[i] for i in members],
                                          [outcomes[i] for i in members], now, counters)
                if fps is not None:
                    remember.append((fps, minute))
        return outcomes, remember, counted

    def _write_project(self, con, pid: int, subs: list[Submission], outcomes: list[Outcome],
                       now: dt.datetime, counters: ProjectCounters) -> np.ndarray | None:
        links = [link for s in subs for link in s.batch.links]
        counts = identity.apply_links(con, pid, links, self.persons)
        counters.persons_created += counts.persons_created
        counters.merges += counts.merges
        counters.links_refused += counts.links_refused

        kept_fps: np.ndarray | None = None
        table = _events_table(subs)
        if table.num_rows:
            con.register("_yunying_incoming", table)
            try:
                fps = fingerprints(con.execute(f"SELECT {_fingerprint('$pid')} AS fp FROM _yunying_incoming",
                                               {"pid": pid}).fetchnumpy()["fp"])
                keep = self._new_rows(con, pid, table, fps, now)
                kept = table.filter(pa.array(keep))
                kept_fps = fps[keep]
                sub_of = table["sub"].to_numpy()
                for j, outcome in enumerate(outcomes):
                    mine = sub_of == j
                    outcome.stored = int(np.count_nonzero(keep & mine))
                    outcome.duplicates = int(np.count_nonzero(mine)) - outcome.stored
                counters.persons_created += self._insert(con, pid, kept, subs, now)
            finally:
                con.unregister("_yunying_incoming")
        elif any(s.batch.person_ops for s in subs):
            counters.persons_created += self._insert(con, pid, table.slice(0, 0), subs, now)

        ops = [op for s in subs for op in s.batch.person_ops]
        identity.apply_person_ops(con, pid, ops, self.persons)
        for sub, outcome in zip(subs, outcomes, strict=True):
            outcome.profile_updates = len(sub.batch.person_ops) + len(sub.batch.links)
            counters.messages += sub.batch.messages
            counters.stored += outcome.stored
            counters.duplicates += outcome.duplicates
            counters.rejected += len(sub.batch.rejected)
            counters.clamped += sub.batch.clamped
            counters.profile_updates += outcome.profile_updates
        _save_rejects(con, pid, subs, now)
        return kept_fps

    def _new_rows(self, con, pid: int, table: pa.Table, fps: np.ndarray, now: dt.datetime) -> np.ndarray:
        """True for each row to store: not a repeat inside the batch, not already stored."""
        keep = np.ones(len(fps), dtype=np.bool_)
        seen = self.index.contains(fps)
        if not seen.any() and len(np.unique(fps)) == len(fps):
            return keep  # the common case: every id is new
        uuids = table["uuid"].to_pylist()
        first: dict[str, int] = {}
        for j, u in enumerate(uuids):  # repeats inside the batch: the first one is kept
            if u in first:
                keep[j] = False
            else:
                first[u] = j
        maybe = [u for j, u in enumerate(uuids) if keep[j] and seen[j]]
        if maybe:  # a fingerprint seen before: confirm against the events themselves
            stored = {r[0] for r in con.execute(
                "SELECT uuid FROM events WHERE project_id = $pid AND uuid IN (SELECT unnest($u)) "
                "AND inserted_at >= $now - to_days($days)",
                {"pid": pid, "u": maybe, "now": now, "days": self.window_days}).fetchall()}
            for j, u in enumerate(uuids):
                if u in stored:
                    keep[j] = False
        return keep

    def _insert(self, con, pid: int, kept: pa.Table, subs: list[Submission], now: dt.datetime) -> int:
        """Give every distinct_id of ``kept`` and of the person operations a person; insert ``kept``.

        Returns how many persons were created.
        """
        op_ids = [op.distinct_id for s in subs for op in s.batch.person_ops]
        now_us = int((now - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
        before = self.persons.created
        person = self.persons.resolve(
            con, pid, kept["distinct_id"].to_pylist() + op_ids,
            kept["timestamp"].cast(pa.int64()).to_pylist() + [now_us] * len(op_ids))
        created = self.persons.created - before
        if not kept.num_rows:
            return created
        kept = kept.append_column("person_id", pa.array(person[: kept.num_rows], pa.int64()))
        con.register("_yunying_kept", kept)
        try:
            con.execute(
                f"""INSERT INTO events
                    SELECT $pid, uuid, event, distinct_id, person_id, timestamp, properties,
                           {materialised_values()}, $now
                    FROM (SELECT *, {extract_materialised('properties')} AS _mat FROM _yunying_kept)""",
                {"pid": pid, "now": now}).fetchall()
        finally:
            con.unregister("_yunying_kept")
        return created


def _events_table(subs: list[Submission]) -> pa.Table:
    """The events of ``subs`` as one Arrow table, with ``sub`` = position of their request."""
    def col(name: str) -> list:
        return [v for s in subs for v in getattr(s.batch, name)]
    return pa.table({
        "uuid": pa.array(col("uuid"), pa.string()),
        "event": pa.array(col("event"), pa.string()),
        "distinct_id": pa.array(col("distinct_id"), pa.string()),
        "timestamp": pa.array(col("timestamp_us"), pa.int64()).cast(pa.timestamp("us")),
        "properties": pa.array(col("properties"), pa.string()),
        "sub": pa.array([j for j, s in enumerate(subs) for _ in range(s.batch.event_count)], pa.int32()),
    })


def _save_rejects(con, pid: int, subs: list[Submission], now: dt.datetime) -> None:
    rows = [(s.wire_format, r.index, r.field, r.reason) for s in subs for r in s.batch.rejected]
    if not rows:
        return
    con.execute(
        "INSERT INTO ingest_rejects SELECT $pid, $now, f, i, fl, r FROM "
        "(SELECT unnest($f) AS f, unnest($i) AS i, unnest($fl) AS fl, unnest($r) AS r)",
        {"pid": pid, "now": now, "f": [r[0] for r in rows], "i": [r[1] for r in rows],
         "fl": [r[2] for r in rows], "r": [r[3] for r in rows]}).fetchall()
