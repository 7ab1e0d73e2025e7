"""yunying's own capture API: ``POST /api/v1/events``.

Authentication: ``Authorization: Bearer <ingestion key>``, or the header
``X-Yunying-Key: <ingestion key>``. Without either: 401.

Body: JSON (``Content-Encoding: gzip`` allowed)::

    {
      "events": [
        {"uuid": "…", "event": "order_paid", "distinct_id": "user-42",
         "timestamp": "2026-05-01T10:00:00.123+08:00",
         "properties": {"amount": 12.5},
         "$set": {"plan": "pro"}, "$set_once": {"first_seen": "2026-05-01"},
         "$unset": ["trial"]}
      ],
      "identify": [{"anon_id": "anon-7f3a", "user_id": "user-42"}],
      "sent_at": "2026-05-01T10:00:05+08:00"
    }

* ``events`` (array, may be empty): ``event`` and ``distinct_id`` (text, or an integer)
  required; ``uuid`` optional, any text of ≤ 200 characters — the dedup key: an event sent
  again with the same uuid is counted as a duplicate, not stored twice (without one, a hash
  of the content plays that part); ``timestamp`` optional: ISO 8601 (no offset means UTC) or
  epoch **milliseconds** (a number), default the arrival time; ``properties`` optional JSON
  object, stored as given; ``$set`` / ``$set_once`` (objects) and ``$unset`` (list of names)
  update the person of ``distinct_id`` and are not stored with the event.
* ``identify`` (array, optional): each ``anon_id`` becomes a name of ``user_id`` (an
  anonymous visitor who logged in). Applied before the events of the request.
* ``sent_at`` (optional, ISO 8601 or epoch ms): the client's clock when sending; event times
  are shifted by the difference with the server's clock. Ignored when unreadable.

Messages are numbered in order: the events first (``0 … n-1``), then the ``identify``
entries (``n …``). A bad message is rejected alone; the others are stored.

Reply: 200 ``{"stored": n, "duplicates": d, "rejected": [{"index", "reason", "field"}]}``;
errors ``{"error": {"code", "message"}}`` with 400 (unreadable body), 401 (no or unknown
key), 413 (too large), 503 (busy: retry after ``Retry-After``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yunying.ingest.batch import (
    BadRequest,
    IdentityLink,
    IngestBatch,
    MessageError,
    Outcome,
    PersonOp,
    Unauthorized,
    client_time_us,
    parse_iso_us,
)
from yunying.ingest.formats import WireFormat, WireRequest
from yunying.ingest.formats.body import (
    bearer,
    decode_body,
    epoch_us,
    json_object,
    loads,
    name_list,
    optional_id,
    required_id,
)

PATHS = ("/api/v1/events",)
NO_KEY = "send Authorization: Bearer <ingestion key> (or the header X-Yunying-Key)"


def _time_us(value: Any, field: str) -> int:
    if type(value) is str:
        return parse_iso_us(value, field)
    return epoch_us(value, field, unit_us=1_000)


def _array(payload: dict[str, Any], name: str) -> list[Any]:
    value = payload.get(name)
    if value is None:
        return []
    if type(value) is not list:
        raise BadRequest(f"{name} must be a JSON array")
    return value


def parse(req: WireRequest, now_us: int) -> IngestBatch:
    """The batch of one ``POST /api/v1/events`` (see the module docstring)."""
    key = (bearer(req.headers) or req.headers.get("x-yunying-key", "")).strip()
    if not key:
        raise Unauthorized(NO_KEY)
    payload = loads(decode_body(req))
    if type(payload) is not dict:
        raise BadRequest('body must be a JSON object: {"events": [...]}')
    events, identify = _array(payload, "events"), _array(payload, "identify")
    batch = IngestBatch(key=key, messages=len(events) + len(identify))
    sent_at = None
    if payload.get("sent_at") is not None:
        with contextlib.suppress(MessageError):  # an unreadable sent_at is ignored
            sent_at = _time_us(payload["sent_at"], "sent_at")
    batch.read(events, lambda index, event: _event(batch, index, event, sent_at, now_us))
    batch.read(identify, lambda index, link: _identify(batch, index, link), start=len(events),
               field="identify")
    return batch


def _identify(batch: IngestBatch, index: int, link: dict[str, Any]) -> None:
    anon = required_id(link.get("anon_id"), "identify.anon_id")
    user = required_id(link.get("user_id"), "identify.user_id")
    if anon != user:
        batch.links.append(IdentityLink(anon, user, "identify", index))


def _event(batch: IngestBatch, index: int, event: dict[str, Any], sent_at: int | None,
           now_us: int) -> None:
    name = required_id(event.get("event"), "event")
    distinct_id = required_id(event.get("distinct_id"), "distinct_id")
    stamp = event.get("timestamp")
    ts_us = now_us if stamp is None else client_time_us(
        _time_us(stamp, "timestamp"), sent_at_us=sent_at, now_us=now_us)
    uuid = optional_id(event.get("uuid"), "uuid")
    props = json_object(event.get("properties"), "properties")
    set_once = json_object(event.get("$set_once"), "$set_once")
    to_set = json_object(event.get("$set"), "$set")
    unset = name_list(event["$unset"], "$unset") if event.get("$unset") is not None else []
    if set_once:
        batch.person_ops.append(PersonOp(distinct_id, "set_once", set_once, index))
    if to_set:
        batch.person_ops.append(PersonOp(distinct_id, "set", to_set, index))
    if unset:
        batch.person_ops.append(PersonOp(distinct_id, "unset", dict.fromkeys(unset), index))
    batch.add_event(index, uuid=uuid, event=name, distinct_id=distinct_id, timestamp_us=ts_us,
                    properties=props, now_us=now_us)


def ok(outcome: Outcome) -> tuple[int, Any]:
    rejected = [{"index": r.index, "reason": r.reason, "field": r.field} for r in outcome.rejected]
    return 200, {"stored": outcome.stored, "duplicates": outcome.duplicates, "rejected": rejected}


def error(status: int, code: str, message: str) -> Any:
    return {"error": {"code": code, "message": message}}


FORMAT = WireFormat(name="yunying", paths=PATHS, parse=parse, ok=ok, error=error)


# ----------------------------------------------------------------------------- OpenAPI schema only
class EventIn(BaseModel):
    """One event of ``POST /api/v1/events`` (documentation; parsing is :func:`parse`)."""

    model_config = ConfigDict(populate_by_name=True)
    uuid: str | None = Field(None, max_length=200, description="Dedup key; default: a content hash.")
    event: str = Field(description="Event name, such as order_paid.")
    distinct_id: str | int = Field(description="Who did it (a user id or an anonymous id).")
    timestamp: str | float | None = Field(
        None, description="ISO 8601 (no offset means UTC) or epoch milliseconds; default: arrival.")
    properties: dict[str, Any] | None = Field(None, description="Event properties, stored as given.")
    set: dict[str, Any] | None = Field(None, alias="$set", description="Person properties to set.")
    set_once: dict[str, Any] | None = Field(
        None, alias="$set_once", description="Person properties to set unless already set.")
    unset: list[str] | None = Field(None, alias="$unset", description="Person properties to remove.")


class IdentifyIn(BaseModel):
    """``anon_id`` is from now on a name of ``user_id`` (documentation only)."""

    anon_id: str
    user_id: str


class EventsRequest(BaseModel):
    """Body of ``POST /api/v1/events``: for the OpenAPI schema only, never used to parse."""

    events: list[EventIn] = Field(default_factory=list)
    identify: list[IdentifyIn] = Field(default_factory=list)
    sent_at: str | float | None = Field(
        None, description="Client clock when sending (ISO 8601 or epoch ms): corrects clock skew.")
