"""File import: Parquet, CSV, JSON Lines (also gzipped) and Excel files -> the store.

Contract of :func:`import_file`:

* **One transaction per file**: all good rows of a file are committed together, or none
  (an error mid-way rolls the whole file back). A file's bad rows never stop its good rows.
* **Idempotent**: events carry their ``uuid`` or a content hash (see
  :mod:`yunying.ingest.normalise`), and the writer skips uuids already stored, so importing
  the same file again adds nothing (reported as duplicates).
* **Dry run** does every step, then rolls the transaction back and writes no rejects file.
* All parsing and validation runs inside DuckDB; Python only touches rejected rows and Excel.
  The common case (no uuid repeated inside the file) is written in one pass from the file
  into ``events``, without a staging copy (:func:`_write`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

from yunying.ingest import rejects as rejects_mod
from yunying.ingest import timestamps
from yunying.ingest.normalise import normalise_sql
from yunying.ingest.rejects import Reject
from yunying.ingest.sources import (
    FileImportError,
    Source,
    detect_format,
    drop_staging,
    open_source,
    used_params,
)
from yunying.ingest.writer import (
    WriteResult,
    check_batch,
    insert_select,
    insert_staged,
    staged_select,
    transaction,
)
from yunying.store import Project, Store

ProgressCallback = Callable[[str, float], None]
"""Called with (step description, fraction done 0..1) while a file is being imported."""

T = TypeVar("T")
_tags = (f"{i}" for i in itertools.count())


@dataclass
class FileReport:
    """What happened to one file."""

    path: Path
    unit: str  # "line" or "row": how rejects are located in this file
    imported: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def summary(self) -> str:
        text = (f"{self.path.name}: {self.imported:,} imported, {self.duplicates:,} duplicates, "
                f"{self.rejected:,} rejected")
        if self.rejects_path is not None:
            text += f" (see {self.rejects_path})"
        return text


def default_rejects_path(path: Path) -> Path:
    """``events.csv`` -> ``events.csv.rejects.jsonl`` beside it."""
    return path.with_name(path.name + ".rejects.jsonl")


def check_paths(paths: list[Path]) -> None:
    """Fail early (before importing anything) on a missing file or an unsupported type."""
    for path in paths:
        if not path.is_file():
            raise FileImportError(f"{path}: no such file")
        detect_format(path)


def import_file(
    store: Store,
    project: Project,
    path: Path,
    *,
    timezone: str,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> FileReport:
    """Import one file into ``project`` (naive timestamps read in ``timezone``).

    ``now`` (UTC, naive) bounds the plausible future; default: the current time.
    Raises :class:`FileImportError` when the file cannot be imported at all (nothing written).
    """
    con = store.duckdb
    tag = next(_tags)
    bound_now = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    report = FileReport(path, "line")
    # progress is tracked for query_progress() but never printed by DuckDB itself
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    try:
        with transaction(store, commit=not dry_run):
            source = _run(con, progress, f"{path.name}: reading",
                          lambda: open_source(con, path, tag))
            report.unit = source.line_unit
            report.rejects, result = _run(
                con, progress, f"{path.name}: importing",
                lambda: _write(con, project, source, tag, timezone, bound_now))
            report.imported, report.duplicates = result.inserted, result.duplicates
            drop_staging(con, tag)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise FileImportError(f"{path}: import failed, nothing was written ({first})") from exc
    finally:
        con.execute("RESET preserve_insertion_order")
    return report


def _write(con: duckdb.DuckDBPyConnection, project: Project, source: Source, tag: str,
           timezone: str, now: dt.datetime) -> tuple[list[Reject], WriteResult]:
    """Validate, deduplicate and insert the rows of ``source``; the caller holds the transaction.

    1. one aggregate pass: how many rows, how many bad, are the good rows' uuids unique;
    2. only when some are bad: the bad rows (line, field, reason), in file order;
    3. common case (uuids unique): the rows go straight from the file into ``events``
       (:func:`insert_select`), the good ones picked by a WHERE; a file without bad rows is
       read with a leaner query (properties already valid need no second parse);
    4. a uuid repeated inside the file: the good rows are staged, and the first of each uuid
       (by line) kept (:func:`insert_staged`).
    """
    # row order is carried by _line, so DuckDB need not keep it: faster, in parallel, less memory
    con.execute("SET preserve_insertion_order = false")  # reset by the caller
    zone = {"tz": timezone, "now": now, **timestamps.zone_params(con, timezone, now)}
    sql, params = normalise_sql(source)
    params = used_params(sql, {**params, **zone})
    check = check_batch(con, sql, params, good="_reason IS NULL")
    rejects = rejects_mod.collect(con, source, sql, params) if check.bad else []
    if check.unique:
        if check.bad:
            return rejects, insert_select(con, project, sql, params, good="_reason IS NULL",
                                          rows=check.good)
        lean, lean_params = normalise_sql(source, valid=True)
        lean_params = used_params(lean, {**lean_params, **zone})
        return rejects, insert_select(con, project, lean, lean_params, good=None,
                                      rows=check.good)
    staged = f"_yunying_norm_{tag}"
    stage = (f"CREATE OR REPLACE TEMP TABLE {staged} AS "
             f"{staged_select(f'SELECT * FROM ({sql}) WHERE _reason IS NULL')}")
    con.execute(stage, params)
    result = insert_staged(con, project, staged, first_by="_line")
    con.execute(f"DROP TABLE {staged}")
    return rejects, result


def _run(con: duckdb.DuckDBPyConnection, progress: ProgressCallback | None, step: str,
            work: Callable[[], T]) -> T:  # noqa: UP047 (Python 3.11)
    """Run ``work`` (DuckDB statements), reporting DuckDB's query progress meanwhile."""
    if progress is None:
        return work()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    while worker.is_alive():
        percent = con.query_progress()
        progress(step, max(0.0, min(1.0, percent / 100.0)) if percent >= 0 else 0.0)
        worker.join(0.2)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    progress(step, 1.0)
    return outcome["value"]  # type: ignore[return-value]


def save_rejects(reports: list[FileReport], shared_path: Path | None = None) -> None:
    """Write each file's rejects beside it (or all of them to ``shared_path``).

    A default rejects file left by an earlier run of a now-clean file is removed, so a
    rejects file on disk always belongs to the latest import.
    """
    if shared_path is not None:
        everything = [r for report in reports for r in report.rejects]
        if everything:
            rejects_mod.write(shared_path, everything)
            for report in reports:
                report.rejects_path = shared_path if report.rejects else None
        return
    for report in reports:
        target = default_rejects_path(report.path)
        if report.rejects:
            rejects_mod.write(target, report.rejects)
            report.rejects_path = target
        else:
            target.unlink(missing_ok=True)
