"""Mixpanel's ingestion API: the mixpanel Python SDK, mixpanel-js and the other Mixpanel SDKs.

Paths ``/track``, ``/engage``, ``/groups`` and ``/import``, each with and without a trailing
slash. Body: a form whose ``data`` field is JSON text or base64 of JSON (``verbose``, ``ip``,
``api_key`` are ignored), or the JSON itself (``Content-Type: application/json``); gzip
allowed. ``data`` is one message or an array of them.

Key: ``/track``, ``/engage``, ``/groups`` carry the ingestion key inside every message —
``properties.token`` (events), ``$token`` (engage, groups). The first one found is the
request's key; a message carrying another token is rejected ("token differs from the
batch's"); a message without one is accepted under the request's key. ``/import``
authenticates with the secret key: ``Authorization: Basic base64("<secret>:")`` — the
password when it is not empty (service account ``user:secret``), else the user name — and
the events' tokens are ignored there.

Events (``/track``, ``/import``): ``event``; ``properties.distinct_id`` (or
``$distinct_id``) required; ``properties.time`` in epoch seconds (int or float), taken as
milliseconds when ≥ 1e11, as Mixpanel does; absent → arrival time; no skew correction (there
is no sent-at). ``$insert_id`` is the dedup id. Stored properties: ``properties`` minus
``token``, ``distinct_id``, ``$distinct_id``, ``time`` and ``$insert_id``.

* ``$create_alias`` (stored too): ``alias(alias_id, original)`` sends
  ``distinct_id=original, alias=alias_id`` — the original (anonymous) id becomes a name of the
  alias id: link anon=``distinct_id``, user=``alias`` (``alias``).
* ``$identify`` (mixpanel-js, stored too): link ``$anon_distinct_id`` → ``$identified_id``
  (else the distinct_id), ``identify``.
* ``$merge`` (``properties.$distinct_ids: [a, b]``): link anon=a, user=b (``merge``); only
  on ``/import`` with the secret key, rejected elsewhere; not stored as an event.

Engage (``/engage``): ``$distinct_id`` and one or more of ``$set``, ``$set_once``, ``$add``
(numbers), ``$append``, ``$union``, ``$unset`` (list of names), ``$remove``, ``$delete`` →
person operations of the same names; not events.

Groups (``/groups``): stored as an event ``$groupidentify`` of distinct_id
``$group:<$group_key>:<$group_id>`` (a stable id, not a user's) at ``$time``, with properties
``$group_type`` = ``$group_key``, ``$group_key`` = ``$group_id`` and the operation under
``$group_set`` / ``$group_set_once`` / ``$group_union`` / ``$group_unset`` / ``$group_remove`` /
``$group_delete``.

Reply (the SDK raises without a ``status``): 200 ``{"status": 1, "error": null}`` plus
``"rejected": [{"index", "reason"}]`` when some messages were rejected; 400 ``{"status": 0,
"error": <first reason>, "rejected": [...]}`` when all were; errors ``{"status": 0, "error"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yunying.ingest.batch import (
    BadRequest,
    IdentityLink,
    IngestBatch,
    MessageError,
    Outcome,
    PersonOp,
    PersonOpKind,
    Unauthorized,
    client_time_us,
)
from yunying.ingest.formats import WireFormat, WireRequest
from yunying.ingest.formats.body import (
    basic_auth,
    decode_body,
    epoch_s_or_ms_us,
    form_fields,
    json_field,
    json_object,
    loads,
    looks_like_json,
    maybe_id,
    name_list,
    optional_id,
    required_id,
)

ENDPOINTS = {f"/{name}{slash}": name for name in ("track", "engage", "import", "groups")
             for slash in ("", "/")}
PATHS = tuple(ENDPOINTS)
OPS: dict[str, PersonOpKind] = {
    "$set": "set", "$set_once": "set_once", "$add": "add", "$append": "append", "$union": "union",
    "$unset": "unset", "$remove": "remove", "$delete": "delete",
}
GROUP_OPS = ("$set", "$set_once", "$union", "$unset", "$remove", "$delete")
NO_TOKEN = "put your ingestion key in properties.token (events) or $token (engage, groups)"
NO_SECRET = "/import needs Authorization: Basic base64('<secret key>:')"
MERGE_NEEDS_SECRET = ("$merge needs the secret key: send it to /import with "
                      "Authorization: Basic base64('<secret key>:')")
Handler = Callable[[IngestBatch, int, dict[str, Any], int, bool], None]


def _messages(req: WireRequest) -> list[Any]:
    data = decode_body(req)
    if "json" in req.headers.get("content-type", "") or looks_like_json(data):
        payload = loads(data)
    else:
        text = form_fields(data).get("data")
        if text is None:
            raise BadRequest("form field data is missing (data=<JSON, or base64 of JSON>)")
        payload = json_field(text, "data")
    if type(payload) is dict:
        return [payload]
    if type(payload) is not list:
        raise BadRequest("data must be a JSON object or an array of them")
    return payload


def _first_token(messages: list[Any], endpoint: str) -> str | None:
    for msg in messages:
        if type(msg) is not dict:
            continue
        if endpoint == "track":
            props = msg.get("properties")
            token = props.get("token") if type(props) is dict else None
        else:
            token = msg.get("$token")
        if type(token) is str and token.strip():
            return token.strip()
    return None


def parse(req: WireRequest, now_us: int) -> IngestBatch:
    """The batch of one Mixpanel request (see the module docstring)."""
    endpoint = ENDPOINTS.get(req.path, "track")
    messages = _messages(req)
    secret = endpoint == "import"
    if secret:
        credentials = basic_auth(req.headers)
        key = (credentials[1] or credentials[0]).strip() if credentials else ""
        if not key:
            raise Unauthorized(NO_SECRET)
    else:
        key = _first_token(messages, endpoint) or ""
        if not key:
            raise Unauthorized(NO_TOKEN)
    batch = IngestBatch(key=key, key_is_secret=secret, messages=len(messages))
    handler = HANDLERS[endpoint]
    batch.read(messages, lambda index, msg: handler(batch, index, msg, now_us, secret))
    return batch


def _check_token(batch: IngestBatch, token: Any, field: str) -> None:
    if token is not None and (type(token) is not str or token.strip() != batch.key):
        raise MessageError("token differs from the batch's", field)


def _time_us(value: Any, field: str, now_us: int) -> int:
    if value is None:
        return now_us
    return client_time_us(epoch_s_or_ms_us(value, field), sent_at_us=None, now_us=now_us, field=field)


def _event(batch: IngestBatch, index: int, msg: dict[str, Any], now_us: int, secret: bool) -> None:
    name = required_id(msg.get("event"), "event")
    props = json_object(msg.get("properties"), "properties")
    token = props.pop("token", None)
    if not secret:
        _check_token(batch, token, "properties.token")
    if name == "$merge":
        if not secret:
            raise MessageError(MERGE_NEEDS_SECRET, "event")
        ids = props.get("$distinct_ids")
        if type(ids) is not list or len(ids) != 2:
            raise MessageError("$merge needs properties.$distinct_ids: [id1, id2]",
                               "properties.$distinct_ids")
        first, second = (required_id(value, "properties.$distinct_ids") for value in ids)
        if first != second:
            batch.links.append(IdentityLink(first, second, "merge", index))
        return
    raw, field = props.pop("distinct_id", None), "properties.distinct_id"
    dollar = props.pop("$distinct_id", None)
    if raw is None and dollar is not None:
        raw, field = dollar, "properties.$distinct_id"
    distinct_id = required_id(raw, field)
    ts_us = _time_us(props.pop("time", None), "properties.time", now_us)
    uuid = optional_id(props.pop("$insert_id", None), "properties.$insert_id")
    link = None
    if name == "$create_alias":
        alias = required_id(props.get("alias"), "properties.alias")
        if alias != distinct_id:
            link = IdentityLink(distinct_id, alias, "alias", index)
    elif name == "$identify":
        anon = maybe_id(props.get("$anon_distinct_id"), "properties.$anon_distinct_id")
        user = maybe_id(props.get("$identified_id"), "properties.$identified_id") or distinct_id
        if anon is not None and anon != user:
            link = IdentityLink(anon, user, "identify", index)
    if link is not None:
        batch.links.append(link)
    batch.add_event(index, uuid=uuid, event=name, distinct_id=distinct_id, timestamp_us=ts_us,
                    properties=props, now_us=now_us)


def _op_value(op: str, value: Any) -> dict[str, Any]:
    """The properties of one engage / groups operation, checked."""
    if op == "$unset":
        return dict.fromkeys(name_list(value, op))
    if op == "$delete":
        return {}
    values = json_object(value, op)
    if op == "$add":
        for name, number in values.items():
            if type(number) not in (int, float):
                raise MessageError(f"$add.{name} must be a number", op)
    return values


def _engage(batch: IngestBatch, index: int, msg: dict[str, Any], now_us: int, secret: bool) -> None:
    _check_token(batch, msg.get("$token"), "$token")
    distinct_id = required_id(msg.get("$distinct_id"), "$distinct_id")
    ops = [PersonOp(distinct_id, kind, _op_value(op, msg[op]), index)
           for op, kind in OPS.items() if op in msg]
    if not ops:
        raise MessageError(f"engage message has no operation ({', '.join(OPS)})", "$set")
    batch.person_ops.extend(ops)


def _group(batch: IngestBatch, index: int, msg: dict[str, Any], now_us: int, secret: bool) -> None:
    _check_token(batch, msg.get("$token"), "$token")
    group_type = required_id(msg.get("$group_key"), "$group_key")
    group_key = required_id(msg.get("$group_id"), "$group_id")
    distinct_id = required_id(f"$group:{group_type}:{group_key}", "$group_id")
    props: dict[str, Any] = {"$group_type": group_type, "$group_key": group_key}
    for op in GROUP_OPS:
        if op in msg:
            value = _op_value(op, msg[op])
            props["$group_" + op[1:]] = list(value) if op == "$unset" else value
    if len(props) == 2:
        raise MessageError(f"groups message has no operation ({', '.join(GROUP_OPS)})", "$set")
    ts_us = _time_us(msg.get("$time"), "$time", now_us)
    batch.add_event(index, uuid=None, event="$groupidentify", distinct_id=distinct_id,
                    timestamp_us=ts_us, properties=props, now_us=now_us)


HANDLERS: dict[str, Handler] = {"track": _event, "import": _event, "engage": _engage, "groups": _group}


def ok(outcome: Outcome) -> tuple[int, Any]:
    rejected = [{"index": r.index, "reason": r.reason} for r in outcome.rejected]
    if rejected and not (outcome.stored or outcome.duplicates or outcome.profile_updates):
        return 400, {"status": 0, "error": rejected[0]["reason"], "rejected": rejected}
    body: dict[str, Any] = {"status": 1, "error": None}
    if rejected:
        body["rejected"] = rejected
    return 200, body


def error(status: int, code: str, message: str) -> Any:
    return {"status": 0, "error": message}


FORMAT = WireFormat(name="mixpanel", paths=PATHS, parse=parse, ok=ok, error=error)
