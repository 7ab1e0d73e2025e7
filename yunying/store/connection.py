"""Opening a store and the project-scoped accessor that every read goes through.

``connect(url)`` gives a :class:`Store`:

* a file path (``events.duckdb``) — the embedded default, DuckDB;
* ``:memory:`` — DuckDB in memory, for tests;
* a Spark session via :func:`yunying.store.spark.connect_spark`.

Project isolation is by construction: the only way to get an events table is
:meth:`Store.events`, which filters on the project's id before anything else sees the rows.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import ibis

from yunying import settings
from yunying.store import schema

EngineKind = Literal["duckdb", "spark"]
_PROJECT_NAME = re.compile(r"^[\w\-.]{1,64}$", re.UNICODE)


class StoreBusyError(RuntimeError):
    """The DuckDB file is held by another process (e.g. a running ``yunying serve``)."""


class UnknownProjectError(LookupError):
    pass


@dataclass(frozen=True)
class Project:
    project_id: int
    name: str
    timezone: str


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone this machine knows, else raise ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from exc
    return name


class Store:
    """A connection to one store (DuckDB file, in-memory DuckDB, or Spark)."""

    def __init__(self, backend: Any, kind: EngineKind, location: str) -> None:
        self.backend = backend
        self.kind: EngineKind = kind
        self.location = location
        self._write_lock = threading.Lock()

    # ----------------------------------------------------------------- raw DuckDB access
    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection, for the writer and engine-specific fast paths."""
        if self.kind != "duckdb":
            raise RuntimeError("this store is not DuckDB")
        return self.backend.con

    def cursor_store(self) -> Store:
        """The same DuckDB database through a new cursor: for another thread, while the
        main connection is busy (DuckDB lets cursors of one process read concurrently)."""
        return Store(ibis.duckdb.from_connection(self.duckdb.cursor()), "duckdb", self.location)

    def write_lock(self) -> threading.Lock:
        return self._write_lock

    # ----------------------------------------------------------------- projects
    def projects(self) -> list[Project]:
        rows = self.backend.table("projects").order_by("project_id").to_pyarrow().to_pylist()
        return [Project(r["project_id"], r["name"], r["timezone"]) for r in rows]

    def project(self, name: str) -> Project:
        for p in self.projects():
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.projects()) or "none yet"
        raise UnknownProjectError(f"no project named {name!r} in {self.location} (projects: {known})")

    def ensure_project(self, name: str, timezone: str | None = None) -> Project:
        """The project called ``name``, created (with ``timezone``) if it does not exist yet."""
        try:
            return self.project(name)
        except UnknownProjectError:
            return self.create_project(name, timezone)

    def create_project(self, name: str, timezone: str | None = None) -> Project:
        if not _PROJECT_NAME.match(name):
            raise ValueError(
                f"project name {name!r} must be 1-64 letters, digits, '_', '-' or '.'"
            )
        tz = validate_timezone(timezone or settings.get("default_timezone"))
        if any(p.name == name for p in self.projects()):
            raise ValueError(f"a project named {name!r} already exists in {self.location} "
                             "(yunying project list shows them)")
        con = self.duckdb
        with self._write_lock:
            next_id = con.execute("SELECT coalesce(max(project_id), 0) + 1 FROM projects").fetchone()[0]
            con.execute(
                "INSERT INTO projects VALUES (?, ?, ?, ?)",
                [next_id, name, tz, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
        return Project(next_id, name, tz)

    def clear_project(self, project: Project) -> None:
        """Delete every event, person and reject of ``project`` in one transaction (project and keys stay)."""
        con = self.duckdb
        with self._write_lock:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM events WHERE project_id = ?", [project.project_id])
                for table in ("persons", "person_profiles", "ingest_rejects"):
                    con.execute(f"DELETE FROM {table} WHERE project_id = ?", [project.project_id])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ----------------------------------------------------------------- the accessor
    def events(self, project: Project) -> ibis.Table:
        """The events of ``project`` — the only way any read reaches the events table."""
        table = self.backend.table("events")
        return table.filter(table.project_id == ibis.literal(project.project_id, "int32"))

    def persons(self, project: Project) -> ibis.Table:
        table = self.backend.table("persons")
        return table.filter(table.project_id == ibis.literal(project.project_id, "int32"))

    def person_profiles(self, project: Project) -> ibis.Table:
        """What is known of ``project``'s persons (``properties``: their JSON object, as now)."""
        table = self.backend.table("person_profiles")
        return table.filter(table.project_id == ibis.literal(project.project_id, "int32"))

    def close(self) -> None:
        if self.kind == "duckdb":
            self.backend.disconnect()


def _configure_duckdb(con: duckdb.DuckDBPyConnection) -> None:
    threads = settings.get("duckdb_threads")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    limit = settings.get("duckdb_memory_limit")
    if limit:
        # SET takes no bound parameters; the value is checked against a strict pattern first.
        con.execute(f"SET memory_limit = '{safe_size(limit)}'")
    con.execute("SET TimeZone = 'UTC'")


def safe_size(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text.strip(), re.IGNORECASE):
        raise ValueError(f"memory limit {text!r} must look like '4GB' or '512MiB'")
    return text.strip()


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in schema.DDL:
        con.execute(ddl)
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    if row is None or row[0] is None:
        con.execute("INSERT INTO schema_version VALUES (?)", [schema.SCHEMA_VERSION])
    elif row[0] > schema.SCHEMA_VERSION:
        raise RuntimeError(
            f"the store was written by a newer yunying (schema {row[0]}); upgrade yunying to read it"
        )
    elif row[0] < schema.SCHEMA_VERSION:  # older stores only lack tables, created above
        con.execute("UPDATE schema_version SET version = ?", [schema.SCHEMA_VERSION])


def connect(url: str | Path | None = None, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the DuckDB store at ``url``; ``:memory:`` for a throw-away one."""
    location = str(url) if url else str(settings.default_db_path())
    if location != ":memory:":
        path = Path(location).expanduser()
        if read_only and not path.exists():
            raise FileNotFoundError(f"no store at {path}; create one with 'yunying import' or 'yunying demo'")
        path.parent.mkdir(parents=True, exist_ok=True)
        location = str(path)
    try:
        raw = duckdb.connect(location, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusyError(
                f"{location} is in use by another process (is 'yunying serve' running?). "
                "Query the running server with --url instead, or stop it first."
            ) from exc
        raise
    _configure_duckdb(raw)
    if not read_only:
        init_schema(raw)
    backend = ibis.duckdb.from_connection(raw)
    return Store(backend, "duckdb", location)
