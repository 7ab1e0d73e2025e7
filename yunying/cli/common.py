"""Options and error handling shared by the sub-commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from yunying import settings
from yunying.store import Store, StoreBusyError, connect

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB store file. Default: $YUNYING_DB or yunying.duckdb in your user data dir.",
        show_default=False,
    ),
]
ProjectOption = Annotated[
    str, typer.Option("--project", "-p", help="Project name (several projects share one store).")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error that says what to do, and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_store(db: Path | None, *, read_only: bool = False) -> Store:
    try:
        return connect(db or settings.default_db_path(), read_only=read_only)
    except StoreBusyError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(str(exc))


def is_tty() -> bool:
    return sys.stderr.isatty()
