"""A real ``yunying serve`` app on a real port, in this process (for SDK clients and the CLI).

``running_server(path)`` creates a store with one project, starts uvicorn on a free port of
127.0.0.1 in a thread, and yields a :class:`Server` with the URL, the keys, and ``query()``
(through ``POST /api/v1/query``) and ``sql()`` (a read cursor of the server's own store, for
looking at persons and profiles the API does not show yet).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.ingest.server import free_port
from yunying.store.connection import Store, connect
from yunying.store.keys import create_project_with_keys
from yunying.web import create_app


@dataclass
class Server:
    url: str
    project: str
    ingest_key: str
    api_key: str
    store: Store

    def query(self, document: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/api/v1/query", json=document,
                              headers={"Authorization": f"Bearer {self.api_key}"}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def sql(self, text: str, params: list[Any] | None = None) -> list[tuple]:
        return self.store.duckdb.cursor().execute(text, params or []).fetchall()

    def total(self, event: str, math: str = "total", day: str | None = None) -> int:
        day = day or time.strftime("%Y-%m-%d", time.gmtime())
        result = self.query({"kind": "trends", "series": [{"event": event, "math": math}],
                             "date_from": day, "date_to": day, "interval": "day", "timezone": "UTC"})
        return int(result["series"][0]["total"])


@contextmanager
def running_server(db: Path, project: str = "shop") -> Iterator[Server]:
    store = connect(db)
    _, keys = create_project_with_keys(store, project)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", project, keys.ingest_key, keys.api_key, store)
    finally:
        server.should_exit = True
        thread.join(20)
        store.close()
