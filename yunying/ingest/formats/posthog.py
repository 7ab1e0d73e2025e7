"""PostHog's capture API (v0): posthog-python, posthog-js and the other PostHog SDKs.

Paths ``/batch/``, ``/capture/``, ``/e/``, ``/i/v0/e/``, each with and without the trailing
slash (``/track`` is Mixpanel's). The opt-in v1 protocol (``/i/v1/analytics/events``) is not
served.

Body: JSON, gzip-compressed either by ``Content-Encoding: gzip`` or by the query
``?compression=gzip-js`` / ``gzip``; or a form with ``data=`` holding JSON or base64 of JSON
(posthog-js, ``compression=base64``). Three shapes: ``{"batch": [...], "api_key", "sent_at"}``,
one event object, or a JSON array of events.

Key, first found: the body's ``api_key``, the body's ``token``, the first event's
``properties.token``, the first event's ``api_key``. Nothing → 401.

Event: ``event`` and ``distinct_id`` (top level, else ``properties.distinct_id``) required;
``uuid`` is the dedup id; ``timestamp`` ISO 8601, corrected by the clock skew measured with
the body's ``sent_at`` (else the query ``_``, epoch ms, as posthog-js sends it); without a
timestamp, a top-level ``offset`` (ms) means ``arrival - offset``; neither → arrival time.

Stored properties: ``properties`` minus ``token`` and ``distinct_id``; a top-level ``$set`` /
``$set_once`` / ``$unset`` is moved inside (merged over the same key already there, as
PostHog does). Every event is stored, ``$identify``, ``$set``, ``$create_alias`` and
``$groupidentify`` included.

Persons (skipped for an event with ``properties.$process_person_profile: false``, as PostHog
skips them): ``$set_once``, ``$set``, ``$unset`` become person operations on the event's
distinct_id, in that order. ``$identify`` with ``properties.$anon_distinct_id`` links that
anonymous id to the distinct_id (``identify``); ``$create_alias`` links ``properties.alias``
to the distinct_id (``alias``, PostHog's direction: the alias joins the distinct_id's
person). ``$merge_dangerously`` needs a secret key at PostHog; here it is taken as an
``alias`` (never a forced merge).

Reply: exactly 200 ``{"status": 1}`` (posthog-python retries any other code); errors
``{"type": "validation_error" | "authentication_error" | "server_error", "code", "detail"}``.
"""

from __future__ import annotations

from typing import Any

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
    decode_body,
    epoch_us,
    form_fields,
    json_field,
    json_object,
    loads,
    looks_like_json,
    maybe_id,
    name_list,
    optional_id,
    required_id,
    sent_at_us,
)

PATHS = ("/batch/", "/batch", "/capture/", "/capture", "/e/", "/e", "/i/v0/e/", "/i/v0/e")
NO_KEY = 'send your ingestion key as "api_key" in the body (or "token" in each event\'s properties)'


def _payload(data: bytes) -> Any:
    if not data.strip():
        raise BadRequest("body is empty")
    if looks_like_json(data):
        return loads(data)
    text = form_fields(data).get("data")
    if text is None:
        raise BadRequest("body is neither JSON nor a form with a data field")
    return json_field(text, "data")


def _events(payload: Any) -> tuple[list[Any], dict[str, Any]]:
    """The events of the request and the object holding the request-level fields."""
    if type(payload) is list:
        return payload, {}
    if type(payload) is not dict:
        raise BadRequest('body must be {"batch": [...]}, one event object or an array of events')
    if "batch" not in payload:
        return [payload], payload
    if type(payload["batch"]) is not list:
        raise BadRequest("batch must be a JSON array of events")
    return payload["batch"], payload


def _key(meta: dict[str, Any], events: list[Any]) -> str | None:
    first = events[0] if events and type(events[0]) is dict else {}
    props = first.get("properties")
    candidates = (meta.get("api_key"), meta.get("token"),
                  props.get("token") if type(props) is dict else None, first.get("api_key"))
    return next((key for key in candidates if type(key) is str and key.strip()), None)


def parse(req: WireRequest, now_us: int) -> IngestBatch:
    """The batch of one PostHog capture request (see the module docstring)."""
    events, meta = _events(_payload(decode_body(req)))
    key = _key(meta, events)
    if key is None:
        raise Unauthorized(NO_KEY)
    batch = IngestBatch(key=key.strip(), messages=len(events))
    sent_at = sent_at_us(meta.get("sent_at"))
    if sent_at is None and req.query.get("_", "").isdigit():
        sent_at = int(req.query["_"]) * 1_000
    batch.read(events, lambda index, event: _event(batch, index, event, sent_at, now_us))
    return batch


def _person_dict(event: dict[str, Any], props: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The event's ``$set`` / ``$set_once``: top level merged over ``properties``; kept inside."""
    top, inner = event.get(key), props.get(key)
    if top is None and inner is None:
        return None
    if top is not None and type(top) is not dict:
        raise MessageError(f"{key} must be a JSON object", key)
    if inner is not None and type(inner) is not dict:
        raise MessageError(f"{key} must be a JSON object", f"properties.{key}")
    merged = inner if top is None else top if inner is None else {**inner, **top}
    props[key] = merged
    return merged


def _event(batch: IngestBatch, index: int, event: dict[str, Any], sent_at: int | None,
           now_us: int) -> None:
    name = required_id(event.get("event"), "event")
    props = json_object(event.get("properties"), "properties")
    distinct = event.get("distinct_id")
    distinct_id = required_id(props.get("distinct_id") if distinct is None else distinct, "distinct_id")
    stamp = event.get("timestamp")
    if stamp is not None:
        ts_us = client_time_us(parse_iso_us(stamp, "timestamp"), sent_at_us=sent_at, now_us=now_us)
    elif event.get("offset") is not None:
        ts_us = client_time_us(now_us - epoch_us(event["offset"], "offset", unit_us=1_000),
                               sent_at_us=None, now_us=now_us)
    else:
        ts_us = now_us
    uuid = optional_id(event.get("uuid"), "uuid")
    props.pop("token", None)
    props.pop("distinct_id", None)

    set_once = _person_dict(event, props, "$set_once")
    to_set = _person_dict(event, props, "$set")
    unset: list[str] = []
    for holder, field in ((event, "$unset"), (props, "properties.$unset")):
        if holder.get("$unset") is not None:
            unset += name_list(holder["$unset"], field)
    if unset:
        props["$unset"] = unset
    link = None
    if name[0] == "$":
        if name == "$identify":
            anon = maybe_id(props.get("$anon_distinct_id"), "properties.$anon_distinct_id")
            if anon is not None and anon != distinct_id:
                link = IdentityLink(anon, distinct_id, "identify", index)
        elif name in ("$create_alias", "$merge_dangerously"):
            alias = required_id(props.get("alias"), "properties.alias")
            if alias != distinct_id:
                link = IdentityLink(alias, distinct_id, "alias", index)

    if props.get("$process_person_profile") is not False:
        if link is not None:
            batch.links.append(link)
        ops = batch.person_ops
        if set_once:
            ops.append(PersonOp(distinct_id, "set_once", set_once, index))
        if to_set:
            ops.append(PersonOp(distinct_id, "set", to_set, index))
        if unset:
            ops.append(PersonOp(distinct_id, "unset", dict.fromkeys(unset), index))
    batch.add_event(index, uuid=uuid, event=name, distinct_id=distinct_id, timestamp_us=ts_us,
                    properties=props, now_us=now_us)


def ok(outcome: Outcome) -> tuple[int, Any]:
    """Exactly 200: posthog-python counts any other status, 201 included, as a failure."""
    return 200, {"status": 1}


def error(status: int, code: str, message: str) -> Any:
    kind = ("authentication_error" if status in (401, 403)
            else "server_error" if status >= 500 else "validation_error")
    return {"type": kind, "code": code, "detail": message}


FORMAT = WireFormat(name="posthog", paths=PATHS, parse=parse, ok=ok, error=error)
