"""Sensors Analytics requests (shaped like sensorsanalyticssdk 1.11) → IngestBatch."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse

import pytest

from yunying.ingest.batch import BadRequest, IdentityLink, Outcome, PersonOp, Rejection, Unauthorized
from yunying.ingest.formats import WireRequest
from yunying.ingest.formats.sensors import FORMAT, NO_ITEMS, parse

NOW = 1_795_298_063_300_000
LIB = {"$lib": "python", "$lib_version": "1.11.0", "$lib_method": "code", "$lib_detail": "##x##y.py##9"}
QUERY = {"project": "default", "token": "sa_key"}


def rec(kind="track", event="OrderPaid", distinct_id="user-42", **fields):
    base = {"type": kind, "time": 1795298063187, "distinct_id": distinct_id, "event": event,
            "properties": {"$lib": "python", "$lib_version": "1.11.0"}, "lib": LIB, "project": "default"}
    return {**base, **fields}


def packed(value, gzipped=True) -> str:
    raw = json.dumps(value).encode()
    return base64.b64encode(gzip.compress(raw) if gzipped else raw).decode()


def run(field="data", value=None, path="/sa", query=QUERY, gzipped=True, **extra):
    fields = {field: packed(value, gzipped), **({"gzip": "1"} if gzipped else {}), **extra}
    body = urllib.parse.urlencode(fields).encode()
    return parse(WireRequest(path, query, {"content-type": "application/x-www-form-urlencoded"}, body), NOW)


def test_track_gzip_ms_values_untouched():
    props = {"$lib": "python", "$lib_version": "1.11.0", "d": "2026-01-01 01:02:03.5", "$is_login_id": True}
    batch = run(value=rec(properties=props, lib={"$lib": "python", "$lib_version": "1.11.0"}))
    assert (batch.key, batch.project_name, batch.messages) == ("sa_key", "default", 1)
    assert batch.timestamp_us == [1_795_298_063_187_000] and batch.event == ["OrderPaid"]
    assert json.loads(batch.properties[0]) == props  # "…03.5" is 5 ms, kept as given
    assert len(batch.uuid[0]) == 36  # content hash: no event id in Sensors


def test_data_list_lifts_time_and_adds_lib():
    records = [rec(event="evt_0", properties={"i": 0}),
               rec(event="evt_1", properties={"i": 1, "$time": 1700000000, "$project": "default"})]
    batch = run("data_list", records, gzipped=False)
    assert batch.event == ["evt_0", "evt_1"]
    assert batch.timestamp_us == [1_795_298_063_187_000, 1_700_000_000_000_000]  # 10 digits: seconds
    lib = {"$lib": "python", "$lib_version": "1.11.0"}
    assert [json.loads(p) for p in batch.properties] == [{"i": 0, **lib}, {"i": 1, **lib}]


def test_signup_bind_unbind():
    identities = {"$identity_login_id": "user-42", "$identity_mobile": "13800000000"}
    batch = run("data_list", [
        rec("track_signup", "$SignUp", original_id="anon-7f3a"),
        rec("track_id_bind", "$BindID", identities=identities),
        rec("track_id_bind", "$BindID", identities={**identities, "$identity_cookie_id": "ck-1"}),
        rec("track_id_unbind", None, identities=identities),
        rec("track_signup", "$SignUp"),
    ])
    assert batch.event == ["$SignUp", "$BindID", "$BindID", "$UnbindID"]
    assert batch.links == [IdentityLink("anon-7f3a", "user-42", "identify", 0),
                           IdentityLink("13800000000", "user-42", "identify", 1),
                           IdentityLink("ck-1", "user-42", "identify", 2)]
    assert batch.rejected == [Rejection(4, "original_id is missing", "original_id")]


def test_profile_operations():
    batch = run("data_list", [
        rec("profile_set", None, properties={"email": "a@b.c", "$is_login_id": True}),
        rec("profile_set_once", None, properties={"first": "2026-01-01"}),
        rec("profile_increment", None, properties={"logins": 1}),
        rec("profile_append", None, properties={"tags": ["a"]}),
        rec("profile_unset", None, properties={"plan": True, "kept": False}),
        rec("profile_delete", None, properties={}),
        rec("profile_increment", None, properties={"logins": "1"}),
    ])
    assert batch.event_count == 0 and batch.person_ops == [
        PersonOp("user-42", "set", {"email": "a@b.c"}, 0),
        PersonOp("user-42", "set_once", {"first": "2026-01-01"}, 1),
        PersonOp("user-42", "add", {"logins": 1}, 2),
        PersonOp("user-42", "append", {"tags": ["a"]}, 3),
        PersonOp("user-42", "unset", {"plan": None}, 4),
        PersonOp("user-42", "delete", {}, 5),
    ]
    assert [(r.index, r.field) for r in batch.rejected] == [(6, "properties")]


def test_items_unknown_types_and_foreign_records_rejected():
    batch = run("data_list", [
        {"type": "item_set", "item_type": "book", "item_id": "isbn-1", "properties": {"title": "T"}},
        rec("track_everything"), rec(project="other"), rec(token="another"), rec(distinct_id=""), rec(),
    ])
    assert batch.event_count == 1 and batch.index == [5]
    assert batch.rejected[0] == Rejection(0, NO_ITEMS, "type")
    assert [(r.index, r.field) for r in batch.rejected[1:]] == [
        (1, "type"), (2, "project"), (3, "token"), (4, "distinct_id")]


def test_token_sources_and_debug_path():
    record = rec(token="rec_key")
    assert run(value=record, query={"project": "default"}).key == "rec_key"
    assert run(value=rec(), query={}, token="form_key").key == "form_key"
    debug = run(value=rec(), path="/debug")
    assert debug.event == ["OrderPaid"] and debug.key == "sa_key"
    with pytest.raises(Unauthorized) as exc:
        run(value=rec(), query={"project": "default"})
    assert str(exc.value) == "add &token=<ingestion key> to the receiver URL"


def test_request_errors():
    form = {"content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(BadRequest, match="^field data is not valid base64$"):
        parse(WireRequest("/sa", QUERY, form, b"data=%25%25%25&gzip=1"), NOW)
    with pytest.raises(BadRequest, match="^field data is not valid gzip$"):
        parse(WireRequest("/sa", QUERY, form, b"data=" + packed(rec(), False).encode() + b"&gzip=1"), NOW)
    with pytest.raises(BadRequest, match="data_list must be a JSON array"):
        run("data_list", rec())
    with pytest.raises(BadRequest, match="data or data_list is missing"):
        parse(WireRequest("/sa", QUERY, form, b"gzip=1"), NOW)


def test_replies():
    assert FORMAT.ok(Outcome(stored=1)) == (200, {"code": 0})
    assert FORMAT.error(401, "unknown_key", "no such key") == {"code": 401, "message": "no such key"}
    assert set(FORMAT.paths) == {"/sa", "/sa.gif", "/debug"}
