"""Sensors Analytics' receiver (神策): sensorsanalyticssdk for Python and the other Sensors SDKs.

Paths ``/sa``, ``/sa.gif`` and ``/debug``. The DebugConsumer posts to ``/debug`` with the
header ``Dry-Run: true``; ``/debug`` is parsed and validated exactly like ``/sa`` and the
server decides whether to store.

Query: ``project=<name>`` → ``batch.project_name``; ``token=<ingestion key>`` → the key (else
a form field ``token``, else the first record's ``token`` / ``properties.$token``). Nothing →
401 "add &token=<ingestion key> to the receiver URL". A record naming another token or
another project than the request's is rejected.

Body: a form with ``data`` (one record) or ``data_list`` (an array of records), each base64
of gzip(JSON) when ``gzip=1``, else base64 of JSON (gzip recognised by its magic anyway); a
GET (``/sa.gif``) carries the same fields in its query; a plain JSON body is accepted too.

Record: ``type``, ``event``, ``distinct_id``, ``time`` (epoch ms; a 10-digit value is seconds),
``properties``, ``lib``, ``project``, ``original_id``, ``identities``. As the SDK does,
``properties.$time`` / ``$token`` / ``$project`` override ``time`` / ``token`` / ``project``
and are not stored. Types:

* ``track`` → the event. ``track_signup`` → the event (``$SignUp``) and a link
  ``original_id`` → ``distinct_id`` (``identify``). ``track_id_bind`` → the event
  (``$BindID``) and a link from ``identities.$identity_anonymous_id`` (else
  ``$identity_cookie_id``, else the first other identity) to
  ``identities.$identity_login_id`` (``identify``) when both are there.
  ``track_id_unbind`` → the event (``$UnbindID``), no link.
* ``profile_set``, ``profile_set_once``, ``profile_increment`` (→ ``add``), ``profile_append``
  (→ ``append``), ``profile_unset`` (the keys whose value is ``true``), ``profile_delete`` →
  person operations, ``$is_login_id`` left out (it describes the id, not the person).
* ``item_set`` / ``item_delete`` → rejected: yunying has no item catalogue.

Stored event properties: ``properties`` as given — values are not converted; a datetime
value arrives as ``"YYYY-MM-DD HH:MM:SS.<ms>"`` whose fraction counts milliseconds and is
not zero-padded (5 ms is ``.5``) — plus ``$lib`` / ``$lib_version`` from ``lib`` when
missing. ``identities`` and the rest of ``lib`` are not stored. There is no event id: the
dedup key is a hash of the content. No sent-at, so no skew correction.

Reply: 200 ``{"code": 0}``; errors ``{"code": <HTTP status>, "message"}``.
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
    PersonOpKind,
    Unauthorized,
    client_time_us,
)
from yunying.ingest.formats import WireFormat, WireRequest
from yunying.ingest.formats.body import (
    decode_body,
    epoch_s_or_ms_us,
    form_fields,
    json_field,
    json_object,
    loads,
    looks_like_json,
    maybe_id,
    required_id,
)

PATHS = ("/sa", "/sa.gif", "/debug")
EVENT_TYPES = {"track": None, "track_signup": "$SignUp", "track_id_bind": "$BindID",
               "track_id_unbind": "$UnbindID"}
PROFILE_TYPES: dict[str, PersonOpKind] = {
    "profile_set": "set", "profile_set_once": "set_once", "profile_increment": "add",
    "profile_append": "append", "profile_unset": "unset", "profile_delete": "delete",
}
NO_ITEMS = "item records are not stored (yunying has no item catalogue)"
NO_TOKEN = "add &token=<ingestion key> to the receiver URL"
ANON_IDENTITIES = ("$identity_anonymous_id", "$identity_cookie_id")


def _records(req: WireRequest) -> tuple[list[Any], dict[str, str]]:
    data = decode_body(req)
    if looks_like_json(data):
        payload, fields = loads(data), {}
    else:
        fields = form_fields(data) if data.strip() else dict(req.query)
        gzipped = fields.get("gzip") == "1"
        if "data_list" in fields:
            payload = json_field(fields["data_list"], "data_list", gzipped=gzipped)
            if type(payload) is not list:
                raise BadRequest("field data_list must be a JSON array of records")
        elif "data" in fields:
            payload = json_field(fields["data"], "data", gzipped=gzipped)
        else:
            raise BadRequest("form field data or data_list is missing")
    if type(payload) is dict:
        return [payload], fields
    if type(payload) is not list:
        raise BadRequest("data must be a JSON object (a record) or an array of records")
    return payload, fields


def _first(records: list[Any], field: str, prop: str) -> str | None:
    """The first record's ``field`` (or ``properties[prop]``) given as non-empty text."""
    for rec in records:
        if type(rec) is dict:
            props = rec.get("properties")
            value = props.get(prop) if type(props) is dict else None
            value = rec.get(field) if value is None else value
            if type(value) is str and value.strip():
                return value.strip()
    return None


def parse(req: WireRequest, now_us: int) -> IngestBatch:
    """The batch of one Sensors request (see the module docstring)."""
    records, fields = _records(req)
    key = (req.query.get("token") or fields.get("token") or "").strip() or _first(
        records, "token", "$token")
    if not key:
        raise Unauthorized(NO_TOKEN)
    project = (req.query.get("project") or "").strip() or _first(records, "project", "$project")
    batch = IngestBatch(key=key, project_name=project, messages=len(records))
    batch.read(records, lambda index, rec: _record(batch, index, rec, now_us))
    return batch


def _lifted(props: dict[str, Any], rec: dict[str, Any], prop: str, field: str) -> Any:
    value = props.pop(prop, None)
    return rec.get(field) if value is None else value


def _record(batch: IngestBatch, index: int, rec: dict[str, Any], now_us: int) -> None:
    kind = rec.get("type")
    if kind not in EVENT_TYPES and kind not in PROFILE_TYPES:
        if kind in ("item_set", "item_delete"):
            raise MessageError(NO_ITEMS, "type")
        raise MessageError(f"type {str(kind)[:40]!r} is not a Sensors record type", "type")
    props = json_object(rec.get("properties"), "properties")
    stamp = _lifted(props, rec, "$time", "time")
    token = _lifted(props, rec, "$token", "token")
    if token is not None and (type(token) is not str or token.strip() != batch.key):
        raise MessageError("token differs from the request's", "token")
    project = _lifted(props, rec, "$project", "project")
    if project is not None and batch.project_name is not None and project != batch.project_name:
        raise MessageError(f"project {str(project)[:40]!r} differs from the request's", "project")
    distinct_id = required_id(rec.get("distinct_id"), "distinct_id")
    if kind in PROFILE_TYPES:
        batch.person_ops.append(PersonOp(distinct_id, PROFILE_TYPES[kind], _profile(kind, props), index))
        return

    default = EVENT_TYPES[kind]
    name = required_id(rec.get("event") or default, "event")
    ts_us = now_us if stamp is None else client_time_us(
        epoch_s_or_ms_us(stamp, "time"), sent_at_us=None, now_us=now_us, field="time")
    lib = rec.get("lib")
    if type(lib) is dict:
        for lib_key in ("$lib", "$lib_version"):
            if lib.get(lib_key) is not None and lib_key not in props:
                props[lib_key] = lib[lib_key]
    link = None
    if kind == "track_signup":
        original = required_id(rec.get("original_id"), "original_id")
        if original != distinct_id:
            link = IdentityLink(original, distinct_id, "identify", index)
    elif kind == "track_id_bind":
        link = _bind_link(rec.get("identities"), index)
    if link is not None:
        batch.links.append(link)
    batch.add_event(index, uuid=None, event=name, distinct_id=distinct_id, timestamp_us=ts_us,
                    properties=props, now_us=now_us)


def _bind_link(identities: Any, index: int) -> IdentityLink | None:
    if type(identities) is not dict:
        return None
    login = maybe_id(identities.get("$identity_login_id"), "identities.$identity_login_id")
    name = next((n for n in ANON_IDENTITIES if identities.get(n) is not None),
                next((n for n in identities if n != "$identity_login_id"), None))
    anon = None if name is None else maybe_id(identities[name], f"identities.{name}")
    if login is None or anon is None or anon == login:
        return None
    return IdentityLink(anon, login, "identify", index)


def _profile(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    props.pop("$is_login_id", None)
    if kind == "profile_unset":
        return {name: None for name, value in props.items() if value is True}
    if kind == "profile_delete":
        return {}
    if kind == "profile_increment":
        for name, number in props.items():
            if type(number) not in (int, float):
                raise MessageError(f"properties.{name} must be a number to increment", "properties")
    return props


def ok(outcome: Outcome) -> tuple[int, Any]:
    return 200, {"code": 0}


def error(status: int, code: str, message: str) -> Any:
    return {"code": status, "message": message}


FORMAT = WireFormat(name="sensors", paths=PATHS, parse=parse, ok=ok, error=error)
