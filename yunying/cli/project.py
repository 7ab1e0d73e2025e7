"""``yunying project create|list``: projects and their keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from yunying.cli import app
from yunying.cli.common import DbOption, console, fail, open_store
from yunying.store.keys import create_project_with_keys, ingest_keys

project_app = typer.Typer(help="Create and list projects (each has its own events, persons and keys).",
                          no_args_is_help=True)
app.add_typer(project_app, name="project")


@project_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Project name: letters, digits, '_', '-', '.'.")],
    db: DbOption = None,
    timezone: Annotated[str | None, typer.Option(
        help="IANA time zone for days/weeks/months of this project. Default: default_timezone.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as one JSON object.")] = False,
) -> None:
    """Create a project and print its keys.

    The ingestion key goes into your apps (SDK host = this server); it can only send events.
    The secret API key reads (queries, stats): it is shown only now — keep it safe.
    """
    store = open_store(db)
    try:
        project, keys = create_project_with_keys(store, name, timezone)
    except ValueError as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"project": project.name, "timezone": project.timezone,
                               "ingest_key": keys.ingest_key, "api_key": keys.api_key}))
        return
    console.print(f"Created project [bold]{project.name}[/] (time zone {project.timezone})")
    console.print(f"  ingestion key (public, for SDKs): [green]{keys.ingest_key}[/]")
    console.print(f"  secret API key (shown once):      [yellow]{keys.api_key}[/]")


@project_app.command("list")
def list_projects(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List projects with their time zone and ingestion keys (secret keys are never shown again)."""
    store = open_store(db, read_only=True)
    try:
        rows = [(p, ingest_keys(store, p)) for p in store.projects()]
    finally:
        store.close()
    if as_json:
        for p, keys in rows:
            typer.echo(json.dumps({"project": p.name, "timezone": p.timezone, "ingest_keys": keys}))
        return
    table = Table("project", "time zone", "ingestion key")
    for p, keys in rows:
        table.add_row(p.name, p.timezone, "\n".join(keys) or "—")
    console.print(table)
