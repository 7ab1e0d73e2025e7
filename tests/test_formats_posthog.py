"""PostHog capture requests (shaped like posthog-python 7.x and posthog-js) → IngestBatch."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse

import pytest

from yunying.ingest.batch import BadRequest, IdentityLink, Outcome, PersonOp, Unauthorized, parse_iso_us
from yunying.ingest.formats import WireRequest
from yunying.ingest.formats.posthog import FORMAT, parse

NOW = parse_iso_us("2026-11-21T21:54:19.700000+00:00", "t")
LIB = {"$lib": "posthog-python", "$lib_version": "7.91.1", "$geoip_disable": True}


def us(text: str) -> int:
    return parse_iso_us(text, "t")


def body(*events, sent_at="2026-11-21T21:54:19.667673+00:00", **extra) -> bytes:
    doc = {"batch": list(events), "historical_migration": False, "sent_at": sent_at, "api_key": "phc_k"}
    return json.dumps({**doc, **extra}).encode()


def ev(name="order_paid", distinct_id="user-42", **fields):
    event = {"event": name, "distinct_id": distinct_id, "properties": dict(LIB),
             "timestamp": "2026-11-21T21:54:19.600000+00:00", "uuid": f"uuid-{name}"}
    return {**event, **fields}


def run(data: bytes, path="/batch/", headers=None, query=None):
    return parse(WireRequest(path, query or {}, headers or {"content-type": "application/json"}, data), NOW)


def test_capture_with_skew_correction():
    event = ev(timestamp="2026-11-21T12:34:56.789000+00:00",
               properties={"amount": 12.5, "token": "x", "distinct_id": "user-42", **LIB})
    batch = run(body(event))
    assert (batch.key, batch.key_is_secret, batch.messages) == ("phc_k", False, 1)
    # 12:34:56.789000 + (21:54:19.700000 - 21:54:19.667673)
    assert batch.timestamp_us == [us("2026-11-21T12:34:56.821327+00:00")]
    assert (batch.uuid, batch.event, batch.distinct_id) == (["uuid-order_paid"], ["order_paid"], ["user-42"])
    assert json.loads(batch.properties[0]) == {"amount": 12.5, **LIB}  # no token, no distinct_id
    assert batch.index == [0] and not batch.rejected and batch.clamped == 0


def test_unreadable_sent_at_is_ignored():
    batch = run(body(ev(), sent_at="yesterday"))
    assert batch.timestamp_us == [us("2026-11-21T21:54:19.600000+00:00")] and not batch.rejected


def test_far_future_is_clamped_and_flagged():
    batch = run(body(ev(timestamp="2026-11-24T00:00:00+00:00"), sent_at=None))
    assert batch.timestamp_us == [NOW] and batch.clamped == 1
    assert json.loads(batch.properties[0])["$clamped_timestamp"] == "2026-11-24T00:00:00+00:00"


@pytest.mark.parametrize("headers, query", [
    ({"content-encoding": "gzip"}, {}), ({"content-type": "text/plain"}, {"compression": "gzip-js"}),
])
def test_gzip_batch(headers, query):
    batch = run(gzip.compress(body(ev("a", "u0"), ev("b", "u1"))), headers=headers, query=query)
    assert batch.event == ["a", "b"] and batch.distinct_id == ["u0", "u1"] and batch.messages == 2


def test_posthog_js_form_with_base64_array_and_offset():
    events = [{"event": "$pageview", "offset": 1500,
               "properties": {"token": "phc_js", "distinct_id": "anon-1", "$current_url": "https://x"}},
              {"event": "$pageleave", "timestamp": "2026-11-21T21:54:19.100000Z",
               "properties": {"token": "phc_js", "distinct_id": "anon-1"}}]
    form = urllib.parse.urlencode({"data": base64.b64encode(json.dumps(events).encode())}).encode()
    sent_ms = str((NOW - 300_000) // 1000)  # posthog-js: sent-at as ?_=<epoch ms>, 0.3 s behind
    batch = run(form, path="/e/", headers={"content-type": "application/x-www-form-urlencoded"},
                query={"compression": "base64", "_": sent_ms})
    assert (batch.key, batch.distinct_id) == ("phc_js", ["anon-1", "anon-1"])
    assert batch.timestamp_us == [NOW - 1_500_000, us("2026-11-21T21:54:19.400000+00:00")]
    assert json.loads(batch.properties[0]) == {"$current_url": "https://x"}


def test_single_event_object_with_token():
    event = {"event": "e", "distinct_id": 7, "token": "phc_t", "properties": {}}
    batch = run(json.dumps(event).encode(), path="/capture/")
    assert (batch.key, batch.distinct_id, batch.timestamp_us) == ("phc_t", ["7"], [NOW])


def test_set_and_set_once_are_person_ops_and_stay_in_properties():
    set_event = {"event": "$set", "distinct_id": "user-42", "$set": {"plan": "pro"},
                 "properties": {**LIB, "$set": {"plan": "free", "email": "a@b.c"}, "$unset": ["trial"]}}
    once = {"event": "$set_once", "distinct_id": "user-42", "$set_once": {"first_seen": "2026-01-01"}}
    batch = run(body(set_event, once))
    assert batch.person_ops == [
        PersonOp("user-42", "set", {"plan": "pro", "email": "a@b.c"}, 0),
        PersonOp("user-42", "unset", {"trial": None}, 0),
        PersonOp("user-42", "set_once", {"first_seen": "2026-01-01"}, 1),
    ]
    assert json.loads(batch.properties[0])["$set"] == {"plan": "pro", "email": "a@b.c"}
    assert json.loads(batch.properties[1]) == {"$set_once": {"first_seen": "2026-01-01"}}
    assert batch.event == ["$set", "$set_once"]


def test_identify_alias_and_merge_dangerously_links():
    batch = run(body(
        ev("$identify", "user-42", properties={"$anon_distinct_id": "anon-7f3a"}),
        ev("$identify", "user-42", properties={"$anon_distinct_id": "user-42"}),
        ev("$create_alias", "anon-7f3a", properties={"distinct_id": "anon-7f3a", "alias": "user-42"}),
        ev("$merge_dangerously", "user-1", properties={"alias": "user-2"}),
    ))
    assert batch.links == [IdentityLink("anon-7f3a", "user-42", "identify", 0),
                           IdentityLink("user-42", "anon-7f3a", "alias", 2),
                           IdentityLink("user-2", "user-1", "alias", 3)]
    assert batch.event_count == 4


def test_group_identify_stored_and_no_person_profile():
    group = ev("$groupidentify", "3a63d887", properties={
        "$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}})
    anonymous = ev("landing", "096850c0", **{"$set": {"x": 1}},
                   properties={"$process_person_profile": False})
    batch = run(body(group, anonymous))
    assert batch.event == ["$groupidentify", "landing"] and batch.person_ops == [] and batch.links == []
    assert json.loads(batch.properties[0])["$group_set"] == {"name": "Acme"}


def test_bad_messages_are_rejected_alone():
    batch = run(body(ev("ok1"), "not an event", ev("x", None), ev("y", uuid="u" * 201),
                     ev("z", timestamp="21/11/2026"), ev("w", properties=[1]),
                     ev("$create_alias", "a", properties={}), ev("ok2")))
    assert batch.event == ["ok1", "ok2"] and batch.index == [0, 7] and batch.messages == 8
    assert [(r.index, r.field) for r in batch.rejected] == [
        (1, None), (2, "distinct_id"), (3, "uuid"), (4, "timestamp"), (5, "properties"),
        (6, "properties.alias")]
    assert batch.rejected[0].reason == "message is not a JSON object"
    assert batch.rejected[1].reason == "distinct_id is missing"


def test_request_errors():
    with pytest.raises(Unauthorized, match="api_key"):
        run(json.dumps({"batch": [ev()]}).encode())
    with pytest.raises(BadRequest, match="^body is not JSON: "):
        run(b"{oops")
    with pytest.raises(BadRequest, match="batch must be a JSON array"):
        run(json.dumps({"batch": {}, "api_key": "k"}).encode())
    with pytest.raises(BadRequest, match="body is not valid gzip"):
        run(b"garbage", headers={"content-encoding": "gzip"})
    with pytest.raises(BadRequest, match="field data is not valid base64"):
        run(b"data=%%%%", headers={"content-type": "application/x-www-form-urlencoded"})


def test_replies():
    assert FORMAT.ok(Outcome(stored=3)) == (200, {"status": 1})
    assert FORMAT.error(401, "unknown_key", "no such key") == {
        "type": "authentication_error", "code": "unknown_key", "detail": "no such key"}
    assert FORMAT.error(400, "bad_body", "x")["type"] == "validation_error"
    assert "/batch/" in FORMAT.paths and "/i/v0/e/" in FORMAT.paths and "/track" not in FORMAT.paths
