"""Wire formats: one module per family of official SDKs, all producing an :class:`IngestBatch`.

A :class:`WireFormat` says which paths it serves, how to read a request (``parse``), and how
to answer in the shape its SDK expects (``ok`` / ``error``). The server (``web/capture.py``)
owns everything else — body size limit, keys and projects, the writer, the status-code map —
so a format module is a pure function of the request bytes, testable without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yunying.ingest.batch import IngestBatch, Outcome


@dataclass(frozen=True)
class WireRequest:
    """A capture request as received: nothing decoded yet."""

    path: str
    query: Mapping[str, str]  # query-string parameters (last value wins)
    headers: Mapping[str, str]  # header names in lower case
    body: bytes  # as received: Content-Encoding not undone


@dataclass(frozen=True)
class WireFormat:
    name: str  # "posthog", "segment", "mixpanel", "sensors", "yunying"
    paths: tuple[str, ...]  # exact paths served (trailing slashes matter to some SDKs)
    # (request, arrival time in UTC µs) -> batch; raises BadRequest (400) or Unauthorized (401)
    parse: Callable[[WireRequest, int], IngestBatch]
    # the answer once the request's commit is durable: (HTTP status, JSON body)
    ok: Callable[[Outcome], tuple[int, Any]]
    # the answer to a failed request: (HTTP status, stable code, message) -> JSON body
    error: Callable[[int, str, str], Any]


def registry() -> tuple[WireFormat, ...]:
    """Every wire format the server accepts, in routing order."""
    from yunying.ingest.formats import mixpanel, native, posthog, segment, sensors

    return (posthog.FORMAT, segment.FORMAT, mixpanel.FORMAT, sensors.FORMAT, native.FORMAT)
