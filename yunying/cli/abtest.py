"""``yunying abtest``: the A/B calculator for numbers from elsewhere (ad platforms, e-mail tools).

The document and the output are the public contract of ``yunying.stats.abtest`` (docs/statistics.md).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

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
             "frequentist | sequential | bayesian; difference: relative | absolute. "
             f"Example: '{EXAMPLE}'")],
    pretty: Annotated[bool, typer.Option(help="Indent the JSON output.")] = True,
) -> None:
    """Compare arms from their sufficient statistics and print lift, interval, p-value or chance to win.

    Prints {"comparisons": [{"arm", "baseline", "estimate", "ci", "p_value", "chance_to_win",
    "risk", "error"}], "srm_p_value"} — fields that do not apply to the method are null.
    """
    from yunying.stats.abtest import AbtestError, run_document

    doc = read_document(document)
    try:
        result = run_document(doc)
    except AbtestError as exc:
        where = f" (field {exc.field})" if getattr(exc, "field", None) else ""
        fail(f"bad A/B document{where} — {exc}. See 'yunying abtest --help' for the fields.")
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2 if pretty else None))
