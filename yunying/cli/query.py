"""``yunying query``: run a query document and print its result as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from yunying.cli import app
from yunying.cli.common import DbOption, ProjectOption, fail, open_store
from yunying.insights import REGISTRY, InsightError, parse_document, run_query
from yunying.store.connection import UnknownProjectError


def read_document(text: str) -> Any:
    """The document from ``--json``: inline JSON, ``@file.json``, or ``-`` for standard input."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read the document file {path}: {exc.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the document is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


@app.command("query")
def query_command(
    document: Annotated[str, typer.Option(
        "--json", "-j",
        help="The query document: inline JSON, @file.json, or - for stdin. "
             'Example: \'{"kind": "trends", "series": [{"event": "pay", "math": "unique_users"}], '
             '"date_from": "2026-10-01", "date_to": "2026-10-31"}\'. Kinds: trends, funnel, '
             "retention, stickiness, lifecycle, paths (docs/api.md).")],
    project: ProjectOption,
    db: DbOption = None,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON output.")] = True,
) -> None:
    """Run an insight query document on a project and print the result as JSON."""
    try:
        doc = parse_document(read_document(document))
    except InsightError as exc:
        fail(f"bad query document — {exc}")
    store = open_store(db, read_only=True)
    try:
        result = run_query(store, store.project(project), doc)
    except InsightError as exc:
        fail(f"bad query document — {exc}")
    except UnknownProjectError as exc:
        fail(str(exc))
    finally:
        store.close()
    typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2 if pretty else None))


@app.command("schema")
def schema_command(
    kind: Annotated[str, typer.Argument(help="Insight kind: " + ", ".join(sorted(REGISTRY)))],
) -> None:
    """Print the JSON Schema of a query document kind (for editors, UIs and API clients)."""
    if kind not in REGISTRY:
        fail(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(REGISTRY))}")
    model = REGISTRY[kind][0]
    typer.echo(json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2))
