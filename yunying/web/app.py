"""``create_app(store)``: the ASGI app of ``yunying serve``.

The server owns the store's DuckDB file: one writer thread (group commit) writes, queries
read through their own cursors. Capture paths of every wire format are served at the root
(``/batch/``, ``/v1/batch``, ``/track``, ``/sa`` …, as the SDKs expect), the JSON API under
``/api/v1/`` (OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from yunying import __version__
from yunying.ingest.formats import native
from yunying.ingest.pipeline import Writer
from yunying.ingest.stats import IngestStats
from yunying.store import Project, Store
from yunying.store.meta import Meta
from yunying.web.api import ReadPool, api_routes
from yunying.web.auth import KeyRing
from yunying.web.capture import capture_routes
from yunying.web.imports import ImportJobs
from yunying.web.pages import workbench_routes
from yunying.web.pages.experiments import warm_up_experiments
from yunying.web.pages.overview import warm_up


@dataclass
class AppState:
    store: Store
    keys: KeyRing
    stats: IngestStats
    reads: ReadPool
    writer: Writer | None
    discard: bool  # answer capture requests without storing (the HTTP + parsing ceiling)
    meta: Meta
    imports: ImportJobs = field(default_factory=ImportJobs)
    # project id -> (data version, latest event's UTC time): the pages' "data end", one max() per change
    last_event: dict[int, tuple[int, Any]] = field(default_factory=dict)
    _projects: list[Project] = field(default_factory=list)

    def projects(self) -> list[Project]:
        """Every project of the store (cached; :meth:`reload` after creating one or changing keys)."""
        if not self._projects:
            self._projects = self.store.cursor_store().projects()
        return self._projects

    def reload(self) -> None:
        """Read projects and keys again (the main connection may be busy writing: use a cursor)."""
        self._projects = []
        self.keys = KeyRing(self.store.cursor_store())


def create_app(store: Store, *, discard: bool = False, warm: bool = False) -> FastAPI:
    """The server app over ``store`` (a DuckDB store this process holds for writing).

    ``warm``: in the background at start, compute each project's default overview, load the
    compiled per-user passes and analyse the running experiments (the server does; tests
    leave it off so every request they time or check starts cold).
    """
    stats = IngestStats()
    state = AppState(store, KeyRing(store), stats, ReadPool(store, version=stats.data_version),
                     None if discard else Writer(store, stats), discard, Meta(store))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.writer:
            state.writer.start()
        if warm:
            threading.Thread(target=_warm, args=(state,), name="yunying-warm", daemon=True).start()
        try:
            yield
        finally:
            if state.writer:
                state.writer.stop()

    app = FastAPI(title="yunying", version=__version__, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None)
    app.state.yunying = state
    for route in api_routes(state):
        app.router.routes.append(route)
    for route in workbench_routes():
        app.router.routes.append(route)
    for route in capture_routes(state):
        if route.path == "/api/v1/events":
            app.add_api_route(route.path, route.endpoint, methods=["POST"], summary="Send events",
                              description=native.__doc__, openapi_extra=_body_schema("EventsRequest"),
                              tags=["capture"])
        else:
            app.router.routes.append(route)
    app.openapi_schema = None
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            extra = native.EventsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(extra.pop("$defs", {}))
            components["EventsRequest"] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _body_schema(name: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}}


def _warm(state: AppState) -> None:
    warm_up(state)  # overviews first: every visitor sees one
    warm_up_experiments(state)
