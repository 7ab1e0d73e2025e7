"""``yunying account create|list|grant``: workbench logins and their roles per project."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.table import Table

from yunying.cli import app
from yunying.cli.common import DbOption, console, fail, open_store
from yunying.store.accounts import (
    ROLES,
    AccountError,
    account_by_login,
    accounts,
    create_account,
    roles_of,
    set_role,
)
from yunying.store.meta import Meta

account_app = typer.Typer(help="Workbench logins: create them and give them a role in a project.",
                          no_args_is_help=True)
app.add_typer(account_app, name="account")

RoleOption = Annotated[str, typer.Option(help=f"Role in --project: {', '.join(ROLES)}.")]


def _password(given: str | None) -> str:
    if given:
        return given
    from_env = os.environ.get("YUNYING_PASSWORD")
    if from_env:
        return from_env
    return typer.prompt("Password (at least 8 characters)", hide_input=True, confirmation_prompt=True)


@account_app.command("create")
def create(
    login: Annotated[str, typer.Argument(help="Login name (letters, digits, . @ + - _).")],
    db: DbOption = None,
    password: Annotated[str | None, typer.Option(
        help="Password; default: $YUNYING_PASSWORD, else asked (not echoed).", show_default=False)] = None,
    name: Annotated[str | None, typer.Option(help="Display name.", show_default=False)] = None,
    superuser: Annotated[bool, typer.Option(
        "--superuser", help="Admin of every project; can create projects and accounts.")] = False,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Add to this project…")] = None,
    role: RoleOption = "viewer",
    locale: Annotated[str | None, typer.Option(
        help="Language: zh-CN or en (default: the browser's).")] = None,
) -> None:
    """Create a login for the workbench (yunying serve), optionally with a role in a project.

    Example: yunying account create li.lei --project shop --role analyst
    """
    store = open_store(db)
    try:
        meta = Meta(store)
        try:
            made = create_account(meta, login, _password(password), display_name=name,
                                  superuser=superuser, locale=locale)
            if project:
                if role not in ROLES:
                    fail(f"--role must be one of {', '.join(ROLES)}")
                set_role(meta, store.project(project).project_id, made.account_id, role)  # type: ignore[arg-type]
        except (AccountError, LookupError) as exc:
            fail(str(exc))
    finally:
        store.close()
    where = f" ({role} of {project})" if project else (" (superuser)" if superuser else "")
    console.print(f"Created account [bold]{made.login}[/]{where}. Sign in at http://HOST:PORT/login")


@account_app.command("grant")
def grant(
    login: Annotated[str, typer.Argument(help="An existing login.")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    role: RoleOption = "viewer",
    db: DbOption = None,
) -> None:
    """Give a login a role in a project (replaces its earlier role there)."""
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    store = open_store(db)
    try:
        meta = Meta(store)
        found = account_by_login(meta, login)
        if found is None:
            fail(f"no account {login!r}; create it with 'yunying account create {login}'")
        try:
            set_role(meta, store.project(project).project_id, found.account_id, role)  # type: ignore[arg-type]
        except LookupError as exc:
            fail(str(exc))
    finally:
        store.close()
    console.print(f"{login} is now {role} of {project}.")


@account_app.command("list")
def list_accounts(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List logins with their roles per project."""
    store = open_store(db, read_only=True)
    try:
        meta = Meta(store)
        names = {p.project_id: p.name for p in store.projects()}
        rows = [(a, {names[pid]: r for pid, r in roles_of(meta, a).items() if pid in names})
                for a in accounts(meta)]
    finally:
        store.close()
    if as_json:
        for a, roles in rows:
            typer.echo(json.dumps({"login": a.login, "name": a.display_name, "superuser": a.is_superuser,
                                   "roles": roles}, ensure_ascii=False))
        return
    table = Table("login", "name", "roles")
    for a, roles in rows:
        label = "superuser" if a.is_superuser else ", ".join(f"{p}: {r}" for p, r in roles.items()) or "—"
        table.add_row(a.login, a.display_name, label)
    console.print(table)
