"""``yunying abtest``: the A/B calculator for numbers from elsewhere (ad platforms, e-mail tools).

The document and the output are the public contract of ``yunying.stats.abtest`` (docs/statistics.md).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from yunying.cli import app
from yunying.cli.common import fail
from yunying.cli.query import read_document

EXAMPLE = ('{"metric": "proportion", "method": "frequentist", "difference": "relative", "alpha": 0.05, '
           '"arms": [{"name": "A", "n": 1000, "sum": 120}, {"name": "B", "n": 1000, "sum": 150}]}')


@app.command("abtest")
def abtest_command(
    document: Annotated[str, typer.Option(
        "--json", "-j",
        help="The test as JSON: inline, @file.json, or - for stdin. The first arm is the baseline; "
             "each arm gives n (units), sum and sum_squares of the per-unit values (for a "
             "proportion, sum = conversions). metric: proportion | mean | ratio; method: "
             "frequentist | sequential | bayesian; difference: relative | absolute. Optional: alpha, "
             "inverse, prior, correction, and per arm weight (the planned share, for the sample-ratio "
             f"check); all fields in docs/statistics.md. Example: '{EXAMPLE}'")],
    pretty: Annotated[bool, typer.Option(help="Indent the JSON output.")] = True,
) -> None:
    """Compare arms from their sufficient statistics and print lift, interval, p-value or chance to win.

    Prints {"comparisons": [{"arm", "baseline", "estimate", "ci", "p_value", "chance_to_win",
    "risk", "error"}], "srm_p_value"} — fields that do not apply to the method are null.
    """
    from yunying.stats.abtest import AbtestError, run_document

    try:
        doc = read_document(document)
    except UnicodeDecodeError:
        fail(f"the document file {escape(document[1:])} is not UTF-8 text: save it as UTF-8 and try again")
    try:
        result = run_document(doc)
    except AbtestError as exc:
        if exc.field is None:
            what = 'the document must be a JSON object with "metric" and "arms"'
        else:
            joint = " " if exc.message.startswith("must") else ": "
            what = f"{exc.field}{joint}{exc.message}; fix that field and run again"
        fail(f"bad A/B document: {escape(what)}. The fields are listed in 'yunying abtest --help' "
             'and in docs/statistics.md ("A/B calculator").')
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2 if pretty else None))
