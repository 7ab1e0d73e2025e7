"""``yunying settings``: every setting, its default, and the environment variable that sets it."""

from __future__ import annotations

from rich.table import Table

from yunying import settings
from yunying.cli import app
from yunying.cli.common import console


@app.command("settings")
def settings_command() -> None:
    """List the settings (set each with its YUNYING_<NAME> environment variable)."""
    table = Table(title="yunying settings")
    # Names are copied into shells and config files: they never wrap.
    table.add_column("name", no_wrap=True)
    table.add_column("environment variable", no_wrap=True)
    for column in ("type", "default", "current", "meaning"):
        table.add_column(column, overflow="fold")
    for s in settings.SETTINGS:
        table.add_row(s.name, f"YUNYING_{s.name.upper()}", s.type.__name__, repr(s.default),
                      repr(settings.get(s.name)), s.help)
    console.print(table)
