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
        "  yunying query --project shop --json @funnel.json\n\n"
        "  yunying project create shop        # keys for the SDKs and the API\n\n"
        "  yunying serve                      # receive events from PostHog/Segment/Mixpanel/Sensors SDKs"
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
from yunying.cli import abtest as _abtest  # noqa: E402,F401
from yunying.cli import account as _account  # noqa: E402,F401
from yunying.cli import common as _common  # noqa: E402,F401
from yunying.cli import demo as _demo  # noqa: E402,F401
from yunying.cli import importing as _importing  # noqa: E402,F401
from yunying.cli import project as _project  # noqa: E402,F401
from yunying.cli import query as _query  # noqa: E402,F401
from yunying.cli import serve as _serve  # noqa: E402,F401
from yunying.cli import settings_cmd as _settings  # noqa: E402,F401
