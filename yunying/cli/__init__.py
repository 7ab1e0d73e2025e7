"""The ``yunying`` command. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="yunying",
    help=(
        "yunying (运营) — self-hosted operations analytics.\n\n"
        "Typical first steps:\n\n"
        "  yunying demo                       # build the demo store and show DAU, funnel, retention\n\n"
        "  yunying import events.csv --project shop\n\n"
        "  yunying query --project shop --json @funnel.json"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)



@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """yunying (运营) — self-hosted operations analytics."""
    if version:
        from yunying import __version__

        typer.echo(f"yunying {__version__}")
        raise typer.Exit()


# Sub-commands register themselves on ``app`` when imported.
from yunying.cli import common as _common  # noqa: E402,F401
from yunying.cli import query as _query  # noqa: E402,F401
from yunying.cli import settings_cmd as _settings  # noqa: E402,F401

for _optional in ("importing", "demo"):
    try:
        __import__(f"yunying.cli.{_optional}")
    except ModuleNotFoundError as exc:  # a module not written yet must not break the others
        if exc.name != f"yunying.cli.{_optional}":
            raise
