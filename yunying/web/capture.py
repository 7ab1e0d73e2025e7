"""Capture endpoints: every wire format's paths, one handler, one status-code map.

    400 the body is unreadable (bad JSON, gzip, base64) — the reason says which
    401 no key, or a key that is not this server's ingestion (or secret) key
    413 body larger than ``max_body_bytes`` (or ``max_decoded_bytes`` once decoded)
    503 the writer is behind (``Retry-After`` says when to retry); the SDKs retry
    500 the commit failed; nothing of the request is stored, a retry is safe
    2xx (per format) only once the request's events are committed to disk

Invalid messages inside a readable request do not fail it: they are rejected one by one,
with reasons, kept in ``ingest_rejects`` and counted in ``/api/v1/ingest/stats``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from yunying import settings
from yunying.ingest.batch import BadRequest, IngestBatch, Outcome, Unauthorized
from yunying.ingest.formats import WireFormat, WireRequest, registry
from yunying.ingest.formats.body import TooLarge
from yunying.ingest.pipeline import Overloaded, Submission
from yunying.web.errors import ApiError, json_response

LARGE_BODY_BYTES = 256 * 1024  # parsed off the event loop above this size
RETRY_AFTER_SECONDS = 1


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def capture_routes(app_state) -> list[Route]:
    """One route per path of every wire format, all served by :func:`_handler`."""
    routes = []
    for fmt in registry():
        endpoint = _handler(fmt, app_state)
        routes.extend(Route(path, endpoint, methods=["GET", "POST"] if path.endswith(".gif") else ["POST"])
                      for path in fmt.paths)  # pixel endpoints (/sa.gif) carry the data in a GET
    return routes


def _handler(fmt: WireFormat, state) -> Callable[[Request], Awaitable[Response]]:
    async def capture(request: Request) -> Response:
        try:
            outcome = await _capture(fmt, state, request)
        except ApiError as exc:
            state.stats.count_status(exc.status, f"{fmt.name}: {exc.code}")
            return json_response(exc.status, fmt.error(exc.status, exc.code, exc.message), exc.headers)
        status, body = fmt.ok(outcome)
        state.stats.count_status(status)
        return json_response(status, body)

    capture.__name__ = f"capture_{fmt.name}"
    return capture


async def _capture(fmt: WireFormat, state, request: Request) -> Outcome:
    body = await read_body(request, int(settings.get("max_body_bytes")))
    wire = WireRequest(request.url.path, dict(request.query_params),
                       {k.lower(): v for k, v in request.headers.items()}, body)
    now_us = time.time_ns() // 1000
    try:
        if len(body) > LARGE_BODY_BYTES:
            batch = await asyncio.to_thread(fmt.parse, wire, now_us)
        else:
            batch = fmt.parse(wire, now_us)
    except TooLarge as exc:
        raise ApiError(413, "body_too_large", str(exc)) from None
    except BadRequest as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    except Unauthorized as exc:
        raise ApiError(401, "missing_key", str(exc)) from None
    project = state.keys.project(batch.key, "secret" if batch.key_is_secret else "ingest")
    if project is None:
        raise ApiError(401, "invalid_key", "the key is not an ingestion key of this server "
                       "(yunying project list shows each project's ingestion key)")
    if batch.project_name is not None and batch.project_name != project.name:
        raise ApiError(401, "wrong_project", f"the key belongs to project {project.name!r}, "
                       f"not {batch.project_name!r}")
    state.stats.project(project.project_id).requests[fmt.name] += 1
    nothing_to_write = not (batch.event_count or batch.links or batch.person_ops or batch.rejected)
    if nothing_to_write or state.discard or request.headers.get("dry-run", "").lower() == "true":
        return Outcome(rejected=list(batch.rejected))
    return await _write(state, project, batch, fmt.name)


async def _write(state, project, batch: IngestBatch, wire_format: str) -> Outcome:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Outcome] = loop.create_future()

    def settle(result: Outcome | BaseException) -> None:
        if future.done():
            return
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    def done(result: Outcome | BaseException) -> None:
        loop.call_soon_threadsafe(settle, result)

    try:
        state.writer.submit(Submission(project, batch, wire_format, done))
    except Overloaded as exc:
        raise ApiError(503, "overloaded", f"{exc}; retry in {RETRY_AFTER_SECONDS} s",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
    try:
        return await future
    except Exception as exc:
        raise ApiError(500, "write_failed", f"the events could not be written ({type(exc).__name__}); "
                       "nothing was stored, retrying is safe") from None
