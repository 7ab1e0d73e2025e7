"""``yunying import FILE...`` — load event files into a project.

Exit codes: 0 every row imported (or a duplicate); 1 some rows were rejected (the good rows
are imported, the bad ones listed and written to a rejects file); 2 a file could not be
imported at all (nothing of that file written; files before it are committed, and running
the same command again is safe because imports are idempotent).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from yunying import settings
from yunying.cli import app
from yunying.cli.common import (
    DbOption,
    ProjectOption,
    console,
    err_console,
    fail,
    is_tty,
    open_store,
)
from yunying.ingest.files import (
    FileReport,
    ProgressCallback,
    check_paths,
    import_file,
    save_rejects,
)
from yunying.ingest.sources import SUPPORTED, FileImportError
from yunying.store import Project, Store, connect
from yunying.store.connection import UnknownProjectError, validate_timezone

SHOWN_REJECTS = 20


@app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help=f"Event files: {SUPPORTED}.", show_default=False)
    ],
    project: ProjectOption,
    db: DbOption = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="Time zone of naive timestamps (and of a new project). "
                          "Default: the project's, else Asia/Shanghai."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Write all rejected rows here (JSON Lines). "
                          "Default: <file>.rejects.jsonl beside each file."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and report; write nothing.")] = False,
    progress: Annotated[
        bool | None,
        typer.Option(help="Show a progress bar. Default: only when stderr is a terminal."),
    ] = None,
) -> None:
    """Import events from files: columns event, distinct_id, timestamp, optional uuid and
    properties; every other column becomes a property. See docs/import.md."""
    try:
        check_paths(files)
        if timezone is not None:
            validate_timezone(timezone)
    except (FileImportError, ValueError) as exc:
        fail(str(exc))
    store = _open(db, dry_run)
    try:
        target = _project(store, project, timezone, dry_run)
        zone = timezone or target.timezone
        reports: list[FileReport] = []
        with _progress_bar(progress) as on_progress:
            for path in files:
                try:
                    reports.append(import_file(store, target, path, timezone=zone,
                                               dry_run=dry_run, progress=on_progress))
                except FileImportError as exc:
                    _print_summary(reports, dry_run)
                    fail(str(exc))
        if not dry_run:
            save_rejects(reports, rejects)
        _print_rejects(reports)
        _print_summary(reports, dry_run)
    finally:
        store.close()
    if any(r.rejects for r in reports):
        raise typer.Exit(1)


def _open(db: Path | None, dry_run: bool) -> Store:
    """The store; a dry run against a store that does not exist yet uses a throw-away one."""
    if dry_run and db is not None and not db.exists():
        return connect(":memory:")
    return open_store(db)


def _project(store: Store, name: str, timezone: str | None, dry_run: bool) -> Project:
    try:
        return store.project(name)
    except UnknownProjectError:
        pass
    if dry_run:  # not created: a dry run writes nothing
        return Project(-1, name, timezone or settings.get("default_timezone"))
    try:
        created = store.create_project(name, timezone)
    except ValueError as exc:
        fail(str(exc))
    err_console.print(f"created project {created.name!r} (time zone {created.timezone})",
                      highlight=False)
    return created


@contextlib.contextmanager
def _progress_bar(forced: bool | None) -> Iterator[ProgressCallback | None]:
    if not (is_tty() if forced is None else forced):
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("", total=1.0)

        def update(step: str, fraction: float) -> None:
            bar.update(task, description=step, completed=fraction)

        yield update


def _print_rejects(reports: list[FileReport]) -> None:
    shown = 0
    for report in reports:
        for reject in report.rejects:
            if shown == SHOWN_REJECTS:
                break
            err_console.print(reject.describe(report.unit), highlight=False, markup=False,
                              soft_wrap=True)
            shown += 1
    hidden = sum(r.rejected for r in reports) - shown
    if hidden > 0:
        err_console.print(f"… and {hidden:,} more rejected rows (see the rejects file)",
                          highlight=False)


def _print_summary(reports: list[FileReport], dry_run: bool) -> None:
    prefix = "dry run, nothing written — " if dry_run else ""
    for report in reports:
        console.print(prefix + report.summary(), highlight=False, markup=False, soft_wrap=True)
    if len(reports) > 1:
        console.print(
            f"{prefix}total: {sum(r.imported for r in reports):,} imported, "
            f"{sum(r.duplicates for r in reports):,} duplicates, "
            f"{sum(r.rejected for r in reports):,} rejected", highlight=False)
