"""Mixpanel requests (shaped like the mixpanel Python SDK 5.x) → IngestBatch."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from yunying.ingest.batch import (
    BadRequest,
    IdentityLink,
    Outcome,
    PersonOp,
    Rejection,
    Unauthorized,
    parse_iso_us,
)
from yunying.ingest.formats import WireRequest
from yunying.ingest.formats.mixpanel import FORMAT, parse

NOW = parse_iso_us("2026-11-21T21:54:23+00:00", "t")
FORM = {"content-type": "application/x-www-form-urlencoded"}
SECRET = {**FORM, "authorization": "Basic " + base64.b64encode(b"legacy_secret:").decode()}


def track(name="Order Completed", distinct_id="user-42", **props):
    base = {"token": "mp_tok", "distinct_id": distinct_id, "time": 1795298062.9885685,
            "$insert_id": "78a018d6309f485a844de5fb122298c5", "mp_lib": "python", "$lib_version": "5.4.1"}
    return {"event": name, "properties": {**base, **props}}


def form(data, **extra) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return urllib.parse.urlencode({"data": text, "verbose": 1, "ip": 0, **extra}).encode()


def run(data, path="/track", headers=FORM, **extra):
    return parse(WireRequest(path, {}, headers, form(data, **extra)), NOW)


def test_track_float_seconds_exact_us():
    batch = run(track(amount=12.5))
    assert (batch.key, batch.key_is_secret, batch.messages) == ("mp_tok", False, 1)
    # 1795298062.9885685 is 1795298062.98856854… exactly: nearest µs …569 (naive round(x*1e6): …568)
    assert batch.timestamp_us == [1_795_298_062_988_569]
    assert batch.uuid == ["78a018d6309f485a844de5fb122298c5"] and batch.distinct_id == ["user-42"]
    assert json.loads(batch.properties[0]) == {"mp_lib": "python", "$lib_version": "5.4.1", "amount": 12.5}


def test_batch_of_events_one_bad_ms_time_and_base64():
    events = [track("a", time=1700000000123), track("b", token="other"), track("c", distinct_id=None),
              track("d", **{"$distinct_id": "d-1"}), "x"]
    del events[3]["properties"]["distinct_id"]
    batch = run(base64.b64encode(json.dumps(events).encode()).decode())
    assert batch.event == ["a", "d"] and batch.distinct_id == ["user-42", "d-1"]
    assert batch.timestamp_us[0] == 1_700_000_000_123_000
    assert batch.rejected == [Rejection(1, "token differs from the batch's", "properties.token"),
                              Rejection(2, "properties.distinct_id is missing", "properties.distinct_id"),
                              Rejection(4, "message is not a JSON object")]


def test_json_body():
    body = json.dumps([track("j", time=1700000000)]).encode()
    batch = parse(WireRequest("/track/", {}, {"content-type": "application/json"}, body), NOW)
    assert batch.timestamp_us == [1_700_000_000_000_000] and batch.event == ["j"]


def test_alias_identify_and_merge_only_on_import():
    alias = {"event": "$create_alias", "properties": {"distinct_id": "anon-7f3a", "alias": "user-42",
                                                      "token": "mp_tok"}}
    identify = {"event": "$identify", "properties": {
        "distinct_id": "user-42", "token": "mp_tok", "$anon_distinct_id": "anon-1",
        "$identified_id": "user-42"}}
    merge = {"event": "$merge", "properties": {"$distinct_ids": ["user-42", "anon-7f3a"], "token": "mp_tok"}}
    batch = run([alias, identify, merge])
    assert batch.links == [IdentityLink("anon-7f3a", "user-42", "alias", 0),
                           IdentityLink("anon-1", "user-42", "identify", 1)]
    assert batch.event == ["$create_alias", "$identify"] and batch.timestamp_us == [NOW, NOW]
    assert batch.rejected[0].index == 2 and "$merge needs the secret key" in batch.rejected[0].reason
    imported = run(merge, path="/import", headers=SECRET, api_key="legacy_api_key")
    assert (imported.key, imported.key_is_secret) == ("legacy_secret", True)
    assert imported.links == [IdentityLink("user-42", "anon-7f3a", "merge", 0)] and imported.event_count == 0


def test_import_with_secret_ignores_tokens():
    batch = run(track("Old Event", time=1700000000, token="whatever"), path="/import", headers=SECRET)
    assert (batch.key, batch.key_is_secret) == ("legacy_secret", True)
    assert batch.timestamp_us == [1_700_000_000_000_000]
    service = {**FORM, "authorization": "Basic " + base64.b64encode(b"svc.user:s3cret").decode()}
    assert run(track(), path="/import/", headers=service).key == "s3cret"
    with pytest.raises(Unauthorized, match="/import needs Authorization"):
        run(track(), path="/import")


def test_engage_operations():
    people = [{"$token": "mp_tok", "$time": 1795298062.9, "$distinct_id": "user-42",
               "$set": {"$email": "a@b.c"}},
              {"$token": "mp_tok", "$distinct_id": "user-42", "$set_once": {"first_seen": "2026-01-01"}},
              {"$token": "mp_tok", "$distinct_id": "user-42", "$add": {"logins": 1}},
              {"$token": "mp_tok", "$distinct_id": "user-42", "$unset": ["plan"], "$union": {"tags": ["a"]}},
              {"$token": "mp_tok", "$distinct_id": "user-42", "$delete": ""},
              {"$token": "mp_tok", "$distinct_id": "user-42", "$add": {"logins": "one"}},
              {"$token": "mp_tok", "$distinct_id": "user-42"}]
    batch = run(people, path="/engage")
    assert batch.event_count == 0 and batch.messages == 7
    assert batch.person_ops == [
        PersonOp("user-42", "set", {"$email": "a@b.c"}, 0),
        PersonOp("user-42", "set_once", {"first_seen": "2026-01-01"}, 1),
        PersonOp("user-42", "add", {"logins": 1}, 2),
        PersonOp("user-42", "union", {"tags": ["a"]}, 3),
        PersonOp("user-42", "unset", {"plan": None}, 3),
        PersonOp("user-42", "delete", {}, 4),
    ]
    assert [(r.index, r.field) for r in batch.rejected] == [(5, "$add"), (6, "$set")]


def test_groups_become_groupidentify_events():
    group = {"$token": "mp_tok", "$time": 1795298063.0100012, "$group_key": "company", "$group_id": "acme",
             "$set": {"name": "Acme Inc"}}
    batch = run(group, path="/groups")
    assert batch.event == ["$groupidentify"] and batch.distinct_id == ["$group:company:acme"]
    assert batch.timestamp_us == [1_795_298_063_010_001]
    assert json.loads(batch.properties[0]) == {"$group_type": "company", "$group_key": "acme",
                                               "$group_set": {"name": "Acme Inc"}}


def test_request_errors():
    with pytest.raises(Unauthorized, match="properties.token"):
        run({"event": "e", "properties": {"distinct_id": "u"}})
    with pytest.raises(BadRequest, match="form field data is missing"):
        parse(WireRequest("/track", {}, FORM, b"verbose=1"), NOW)
    with pytest.raises(BadRequest, match="field data is not valid base64"):
        run("e30=!")
    with pytest.raises(BadRequest, match="^field data is not JSON"):
        run(base64.b64encode(b"{").decode())


def test_replies_always_carry_status():
    assert FORMAT.ok(Outcome(stored=2)) == (200, {"status": 1, "error": None})
    some = Outcome(stored=1, rejected=[Rejection(1, "token differs from the batch's", "properties.token")])
    assert FORMAT.ok(some) == (200, {"status": 1, "error": None,
                                     "rejected": [{"index": 1, "reason": "token differs from the batch's"}]})
    every = Outcome(rejected=[Rejection(0, "event is missing", "event")])
    assert FORMAT.ok(every) == (400, {"status": 0, "error": "event is missing",
                                      "rejected": [{"index": 0, "reason": "event is missing"}]})
    assert FORMAT.error(503, "busy", "try again") == {"status": 0, "error": "try again"}
