"""The JSON API: queries, ingestion stats, health (secret key in ``Authorization: Bearer``), and
the experiment variants of a user (the public ingestion key, as apps hold it)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from yunying import __version__, settings
from yunying.experiments import variants_for
from yunying.ingest.batch import MessageError, text_id
from yunying.ingest.formats.body import bearer
from yunying.insights import InsightError, Result, run_query
from yunying.store import Project, Store
from yunying.web.capture import read_body
from yunying.web.errors import ApiError, error_response, json_response

T = TypeVar("T")
RESULT_CACHE_ENTRIES = 512
VARIANTS_BODY_BYTES = 64 * 1024  # {"distinct_id": …} needs a few hundred


class ReadPool:
    """Read-only query connections (cursors of the server's DuckDB database), one per query.

    DuckDB lets many cursors of one process read while the writer writes; each query gets
    its own, is interrupted after ``query_timeout_ms``, and at most ``size`` run at once.
    """

    def __init__(self, store: Store, size: int = 2, version: Callable[[int], int] | None = None) -> None:
        self._free: queue.Queue[Store] = queue.Queue()
        self._store = store
        for _ in range(size):
            self._free.put(store.cursor_store())
        self._version = version
        self._cache: OrderedDict[tuple[int, bytes], tuple[int, float, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _usable(self, reader: Store) -> Store:
        """``reader``, or a fresh cursor if the work left it busy (a result not fully fetched)."""
        try:
            reader.duckdb.execute("SELECT 1").fetchall()
        except duckdb.Error:
            return self._store.cursor_store()
        return reader

    def run(self, project: Project, document: Any) -> dict[str, Any]:
        return self.result(project, document).to_json()

    def result(self, project: Project, document: Any, *, refresh: bool = False) -> Result:
        """Run ``document`` on ``project``; InsightError for a bad document, ApiError 504 on timeout.

        Results are cached per project and document (:meth:`cached`); ``refresh`` recomputes.
        """
        if self._version is None or not isinstance(document, dict):
            return self.call(lambda reader: run_query(reader, project, document))
        key = b"query:" + orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        return self.cached(project, key, lambda reader: run_query(reader, project, document), refresh=refresh)

    def cached(self, project: Project, key: bytes, work: Callable[[Store], T], *, refresh: bool = False) -> T:
        """``work(reader)`` (see :meth:`call`), remembered per project and ``key``.

        A cached answer is used while the project's data is unchanged (the writer's
        ``data_version``), or, while events keep arriving, for up to ``result_max_age_seconds``
        after it was computed — so a busy server does not recompute every dashboard on every
        view. The last ``RESULT_CACHE_ENTRIES`` answers are kept.
        """
        if self._version is None:
            return self.call(work)
        full_key = (project.project_id, key)
        version = self._version(project.project_id)
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(full_key)
            if hit is not None and not refresh and (
                    hit[0] == version or now - hit[1] < settings.get("result_max_age_seconds")):
                self._cache.move_to_end(full_key)
                return hit[2]
        answer = self.call(work)
        with self._cache_lock:
            self._cache[full_key] = (version, now, answer)
            self._cache.move_to_end(full_key)
            while len(self._cache) > RESULT_CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return answer

    def call(self, work: Callable[[Store], T]) -> T:
        """``work(reader)`` on a free read cursor, interrupted after ``query_timeout_ms``."""
        reader = self._free.get()
        timeout_s = settings.get("query_timeout_ms") / 1000
        timer = threading.Timer(timeout_s, reader.duckdb.interrupt)
        timer.start()
        try:
            return work(reader)
        except duckdb.InterruptException:
            raise ApiError(504, "query_timeout",
                           f"the query ran longer than {timeout_s:g} s (query_timeout_ms); "
                           "narrow the date range or the filters") from None
        finally:
            timer.cancel()
            self._free.put(self._usable(reader))


def api_routes(state) -> list[Route]:
    async def query(request: Request) -> Response:
        try:
            project = state.keys.reading_project(request)
            try:
                document = orjson.loads(await request.body())
            except orjson.JSONDecodeError as exc:
                raise ApiError(400, "bad_json", f"the query document is not valid JSON: {exc}") from None
            try:
                result = await asyncio.to_thread(state.reads.run, project, document)
            except InsightError as exc:
                raise ApiError(400, "bad_query", str(exc), exc.field) from None
            return json_response(200, result)
        except ApiError as exc:
            return error_response(exc)

    async def ingest_stats(request: Request) -> Response:
        try:
            project = state.keys.reading_project(request)
        except ApiError as exc:
            return error_response(exc)
        reasons = await asyncio.to_thread(_reject_reasons, state.store, project)
        return json_response(200, {
            "project": project.name,
            "since_start": state.stats.project(project.project_id).as_dict(),
            "rejected_by_reason": reasons,
            "server": state.stats.server_view(state.writer.pending_events if state.writer else 0),
        })

    async def health(request: Request) -> Response:
        return json_response(200, {"status": "ok", "version": __version__})

    async def experiment_variants(request: Request) -> Response:
        """``{"distinct_id", "variants": {experiment key: variant key}}`` for every running
        hash-assigned experiment of the key's project."""
        try:
            key = bearer(request.headers)
            if request.method == "POST":
                project = _ingest_project(state, key) if key else None  # a wrong key: 401 before the body
                body = _json_object(await read_body(request, VARIANTS_BODY_BYTES))
                project = project or _ingest_project(state, body.get("api_key"))
                raw = body.get("distinct_id")
            else:
                project = _ingest_project(state, key)
                raw = request.query_params.get("distinct_id")
            distinct_id = _distinct_id(raw)
            variants = await asyncio.to_thread(variants_for, state.meta, project.project_id, distinct_id)
            return json_response(200, {"distinct_id": distinct_id, "variants": variants})
        except ApiError as exc:
            return error_response(exc)

    return [
        Route("/api/v1/query", query, methods=["POST"]),
        Route("/api/v1/ingest/stats", ingest_stats, methods=["GET"]),
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/v1/experiments/variants", experiment_variants, methods=["GET", "POST"]),
    ]


def _ingest_project(state, key: Any) -> Project:
    """The project whose ingestion (or secret) key ``key`` is; 401 otherwise."""
    if not key:
        raise ApiError(401, "missing_key",
                       "send the project's ingestion key as 'Authorization: Bearer <key>' "
                       "(yunying project list shows it)")
    project = state.keys.project(key, "ingest") if isinstance(key, str) else None
    if project is None:
        raise ApiError(401, "invalid_key", "the key is not an ingestion key of this server "
                       "(yunying project list shows each project's ingestion key)")
    return project


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", 'the body must be a JSON object: {"distinct_id": "<user id>"}')
    return value


def _distinct_id(value: Any) -> str:
    """The user id as ingestion stores it (a string or an integer, stripped, 1-200 characters)."""
    if value is None:
        raise ApiError(400, "bad_request", "distinct_id is missing: send ?distinct_id=<the user's id> "
                       '(POST: {"distinct_id": "<the user\'s id>"})', "distinct_id")
    try:
        return text_id(value, "distinct_id")
    except MessageError as exc:
        raise ApiError(400, "bad_request", f"{exc}; send the id the app sends its events with",
                       "distinct_id") from None


def _reject_reasons(store: Store, project: Project) -> list[dict[str, Any]]:
    """All-time rejected messages of ``project`` grouped by reason, most frequent first."""
    rows = store.duckdb.cursor().execute(  # its own cursor: reads while the writer writes
        "SELECT wire_format, field, reason, count(*) AS n, max(received_at) AS last "
        "FROM ingest_rejects WHERE project_id = ? GROUP BY ALL ORDER BY n DESC LIMIT 100",
        [project.project_id]).fetchall()
    return [{"wire_format": f, "field": fl, "reason": r, "count": n, "last": last.isoformat() + "Z"}
            for f, fl, r, n, last in rows]
