"""``yunying query``: run a query document and print its result as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from yunying.cli import app
from yunying.cli.common import DbOption, fail, open_store
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
        except UnicodeDecodeError:
            fail(f"the document file {path} is not UTF-8 text: save it as UTF-8 and try again")
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
    project: Annotated[str | None, typer.Option(
        "--project", "-p", help="Project name (with --db; with --url the key names the project).")] = None,
    db: DbOption = None,
    url: Annotated[str | None, typer.Option(
        help="Ask a running 'yunying serve' instead of opening the store, e.g. http://127.0.0.1:8000 "
             "(needed while a server holds the store).")] = None,
    key: Annotated[str | None, typer.Option(
        envvar="YUNYING_API_KEY", help="The project's secret API key, for --url.")] = None,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON output.")] = True,
) -> None:
    """Run an insight query document on a project and print the result as JSON."""
    try:
        doc = parse_document(read_document(document))
    except InsightError as exc:
        fail(f"bad query document — {exc}")
    if url:
        result = _remote_query(url, key, read_document(document))
    else:
        if not project:
            fail("say which project: --project NAME (or ask a server with --url and --key)")
        store = open_store(db, read_only=True)
        try:
            result = run_query(store, store.project(project), doc).to_json()
        except InsightError as exc:
            fail(f"bad query document — {exc}")
        except UnknownProjectError as exc:
            fail(str(exc))
        finally:
            store.close()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2 if pretty else None))


def _remote_query(url: str, key: str | None, document: Any) -> Any:
    import httpx

    if not key:
        fail("--url needs the project's secret API key: --key KEY or YUNYING_API_KEY")
    endpoint = url.rstrip("/") + "/api/v1/query"
    try:
        response = httpx.post(endpoint, json=document, headers={"Authorization": f"Bearer {key}"},
                              timeout=None)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {endpoint}: {exc} (is 'yunying serve' running there?)")
    try:
        body = response.json()
    except ValueError:
        fail(f"{endpoint} answered {response.status_code} with no JSON (is it a yunying server?)")
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        fail(f"the server refused the query ({response.status_code} {error.get('code')}): "
             f"{error.get('message')}")
    return body


@app.command("schema")
def schema_command(
    kind: Annotated[str, typer.Argument(help="Insight kind: " + ", ".join(sorted(REGISTRY)))],
) -> None:
    """Print the JSON Schema of a query document kind (for editors, UIs and API clients)."""
    if kind not in REGISTRY:
        fail(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(REGISTRY))}")
    model = REGISTRY[kind][0]
    typer.echo(json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2))
