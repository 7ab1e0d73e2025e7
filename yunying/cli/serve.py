"""``yunying serve``: the ingestion server and JSON API over one store."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from yunying.cli import app
from yunying.cli.common import DbOption, console, open_store
from yunying.store import Store


@app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(
        help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    discard: Annotated[bool, typer.Option(
        "--benchmark-discard",
        help="Parse and answer capture requests but store nothing — only to measure the HTTP and "
             "parsing ceiling of a machine. Never use it for real traffic.")] = False,
) -> None:
    """Receive events from the official PostHog, Segment, Mixpanel and Sensors SDKs, and answer queries.

    Point an SDK's host at http://HOST:PORT with the project's ingestion key (yunying project
    create prints it). A 2xx answer means the events are on disk; retries never double-count.
    Queries: POST /api/v1/query with 'Authorization: Bearer <secret key>', or
    yunying query --url http://HOST:PORT. API docs: http://HOST:PORT/api/v1/docs
    """
    store = open_store(db)
    if not store.projects():
        console.print("[yellow]No project yet:[/] stop the server and run 'yunying project create NAME'.")
    run_server(store, host, port, discard=discard)


def run_server(store: Store, host: str, port: int, *, discard: bool = False, banner: str = "") -> None:
    """Serve ``store`` until interrupted (Ctrl-C), then close it."""
    import uvicorn

    from yunying.web import create_app

    # The event loop (parsing) and the writer thread share the interpreter lock; a short
    # switch interval lets the writer resume promptly after each engine call returns.
    sys.setswitchinterval(0.0005)
    application = create_app(store, discard=discard, warm=not discard)
    console.print(banner or f"yunying serving {store.location} on http://{host}:{port}  "
                  f"(workbench: /login · API docs: /api/v1/docs)", highlight=False)
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.close()
