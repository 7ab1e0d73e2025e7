"""Segment's HTTP Tracking API: analytics-python, analytics-node and the other Segment SDKs.

Paths: ``/v1/batch`` and ``/v1/import`` take ``{"batch": [...], "sentAt", "writeKey"}``;
``/v1/track``, ``/v1/identify``, ``/v1/alias``, ``/v1/page``, ``/v1/screen``, ``/v1/group``
take one message, whose ``type`` defaults to the path's. Body JSON, gzip allowed.

Key: the user name of ``Authorization: Basic base64("<writeKey>:")``, else the body's
``writeKey``. Nothing → 401.

Message: ``distinct_id`` is ``userId`` when set (not null, not ""), else ``anonymousId``
(numbers become text); neither → rejected. ``messageId`` is the dedup id. Time:
``timestamp``, else ``originalTimestamp``, corrected by the skew measured with the message's
``sentAt``, else the batch's (an unreadable sentAt is ignored).

Per type (event name, stored properties):

* ``track``: ``event``, ``properties``.
* ``page``: ``$pageview``, ``properties`` plus ``name`` and ``category`` under those keys
  when set; ``$current_url`` is ``context.page.url``, else ``properties.url``.
* ``screen``: ``$screen``, ``properties`` plus ``$screen_name`` (``name``) and ``category``.
* ``identify``: ``$identify`` with ``{"$set": traits}``; the traits are also a ``set`` person
  operation.
* ``alias``: ``$create_alias`` with ``{"alias": previousId}`` for ``userId`` (both required);
  links previousId → userId (``alias``).
* ``group``: ``$groupidentify`` with ``$group_type: "group"`` (Segment has no group types),
  ``$group_key``: groupId, ``$group_set``: traits.

Any message carrying both a ``userId`` and a different ``anonymousId`` also links them
(``identify``): Segment treats the two ids of one message as one user.

Of ``context``, only ``library.name`` / ``library.version`` (as ``$lib`` / ``$lib_version``),
``ip`` (``$ip``), ``page.url`` (``$current_url``) and ``userAgent`` (``$user_agent``) are
stored, and only when ``properties`` has no such key; the rest of ``context`` and
``integrations`` are not stored.

Reply: 200 ``{"success": true}``; errors ``{"code", "message"}`` (what analytics-python reads).
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
    basic_auth,
    decode_body,
    json_object,
    loads,
    maybe_id,
    optional_id,
    required_id,
    sent_at_us,
)

SINGLE = {f"/v1/{kind}": kind for kind in ("track", "identify", "alias", "page", "screen", "group")}
PATHS = ("/v1/batch", "/v1/import", *SINGLE)
TYPES = ("track", "identify", "alias", "page", "screen", "group")
NO_KEY = 'send Authorization: Basic base64("<ingestion key>:") (or "writeKey" in the body)'


def parse(req: WireRequest, now_us: int) -> IngestBatch:
    """The batch of one Segment request (see the module docstring)."""
    payload = loads(decode_body(req))
    if type(payload) is not dict:
        raise BadRequest("body must be a JSON object")
    default_type = SINGLE.get(req.path)
    if default_type is None:
        messages = payload.get("batch")
        if type(messages) is not list:
            raise BadRequest('body must be {"batch": [...]} with batch a JSON array of messages')
    else:
        messages = [payload]
    credentials = basic_auth(req.headers)
    key = credentials[0].strip() if credentials else ""
    if not key:
        write_key = payload.get("writeKey")
        key = write_key.strip() if type(write_key) is str else ""
    if not key:
        raise Unauthorized(NO_KEY)
    batch = IngestBatch(key=key, messages=len(messages))
    sent_at = sent_at_us(payload.get("sentAt"))
    batch.read(messages, lambda index, msg: _message(batch, index, msg, default_type, sent_at, now_us))
    return batch


def _context(props: dict[str, Any], context: Any) -> None:
    if type(context) is not dict:
        return
    library = context.get("library")
    if type(library) is dict:
        _put(props, "$lib", library.get("name"))
        _put(props, "$lib_version", library.get("version"))
    _put(props, "$ip", context.get("ip"))
    page = context.get("page")
    if type(page) is dict:
        _put(props, "$current_url", page.get("url"))
    _put(props, "$user_agent", context.get("userAgent"))


def _put(props: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and key not in props:
        props[key] = value


def _message(batch: IngestBatch, index: int, msg: dict[str, Any], default_type: str | None,
             sent_at: int | None, now_us: int) -> None:
    kind = msg.get("type") or default_type
    if kind not in TYPES:
        raise MessageError(f"type {str(kind)[:40]!r} is not one of {', '.join(TYPES)}", "type")
    user = maybe_id(msg.get("userId"), "userId")
    anon = maybe_id(msg.get("anonymousId"), "anonymousId")
    if kind == "alias" and user is None:
        raise MessageError("alias needs userId (the id the previousId becomes)", "userId")
    distinct_id = user or anon
    if distinct_id is None:
        raise MessageError("userId or anonymousId is required", "userId")
    field = "timestamp" if msg.get("timestamp") is not None else "originalTimestamp"
    stamp = msg.get(field)
    if msg.get("sentAt") is not None:
        sent_at = sent_at_us(msg["sentAt"])
    ts_us = now_us if stamp is None else client_time_us(
        parse_iso_us(stamp, field), sent_at_us=sent_at, now_us=now_us, field=field)
    uuid = optional_id(msg.get("messageId"), "messageId")

    link = None
    traits: dict[str, Any] = {}
    if kind == "track":
        name = required_id(msg.get("event"), "event")
        props = json_object(msg.get("properties"), "properties")
    elif kind == "page" or kind == "screen":
        props = json_object(msg.get("properties"), "properties")
        page_name = msg.get("name")
        if kind == "page":
            name = "$pageview"
            _put(props, "name", page_name)
            _put(props, "$current_url", _page_url(msg.get("context"), props))
        else:
            name = "$screen"
            _put(props, "$screen_name", page_name)
        _put(props, "category", msg.get("category"))
    elif kind == "identify":
        name = "$identify"
        traits = json_object(msg.get("traits"), "traits")
        props = {"$set": traits} if traits else {}
    elif kind == "alias":
        name = "$create_alias"
        previous = required_id(msg.get("previousId"), "previousId")
        props = {"alias": previous}
        if previous != distinct_id:
            link = IdentityLink(previous, distinct_id, "alias", index)
    else:  # group
        name = "$groupidentify"
        group = required_id(msg.get("groupId"), "groupId")
        props = {"$group_type": "group", "$group_key": group,
                 "$group_set": json_object(msg.get("traits"), "traits")}
    _context(props, msg.get("context"))

    if user is not None and anon is not None and anon != user:
        batch.links.append(IdentityLink(anon, user, "identify", index))
    if link is not None:
        batch.links.append(link)
    if traits:
        batch.person_ops.append(PersonOp(distinct_id, "set", traits, index))
    batch.add_event(index, uuid=uuid, event=name, distinct_id=distinct_id, timestamp_us=ts_us,
                    properties=props, now_us=now_us)


def _page_url(context: Any, props: dict[str, Any]) -> Any:
    page = context.get("page") if type(context) is dict else None
    url = page.get("url") if type(page) is dict else None
    return props.get("url") if url is None else url


def ok(outcome: Outcome) -> tuple[int, Any]:
    return 200, {"success": True}


def error(status: int, code: str, message: str) -> Any:
    return {"code": code, "message": message}


FORMAT = WireFormat(name="segment", paths=PATHS, parse=parse, ok=ok, error=error)
