"""Segment requests (shaped like analytics-python 2.4) → IngestBatch."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from yunying.ingest.batch import BadRequest, IdentityLink, Outcome, PersonOp, Unauthorized, parse_iso_us
from yunying.ingest.formats import WireRequest
from yunying.ingest.formats.segment import FORMAT, parse

NOW = parse_iso_us("2026-11-21T21:54:21.300000+00:00", "t")
AUTH = {"authorization": "Basic " + base64.b64encode(b"seg_key:").decode()}
CONTEXT = {"library": {"name": "analytics-python", "version": "2.4.0"}}
LIB = {"$lib": "analytics-python", "$lib_version": "2.4.0"}


def msg(kind="track", user="user-42", anon=None, **fields):
    base = {"integrations": {}, "anonymousId": anon, "userId": user, "type": kind, "context": CONTEXT,
            "timestamp": "2026-11-21T21:54:21.228+00:00", "messageId": f"m-{kind}"}
    return {**base, **fields}


def run(*messages, path="/v1/batch", headers=AUTH, sent_at="2026-11-21T21:54:21.250000+00:00", **extra):
    doc = {"batch": list(messages), "sentAt": sent_at, "writeKey": "body_key", **extra}
    return parse(WireRequest(path, {}, headers, json.dumps(doc).encode()), NOW)


def props(batch, i=0):
    return json.loads(batch.properties[i])


def test_track_with_context_and_skew():
    context = {**CONTEXT, "ip": "1.2.3.4", "userAgent": "UA", "page": {"url": "https://x/cart"}}
    batch = run(msg(event="Order Completed", properties={"revenue": 12.5}, context=context))
    assert (batch.key, batch.messages, batch.uuid) == ("seg_key", 1, ["m-track"])
    # 21:54:21.228 + (21:54:21.300 - 21:54:21.250)
    assert batch.timestamp_us == [parse_iso_us("2026-11-21T21:54:21.278+00:00", "t")]
    assert props(batch) == {"revenue": 12.5, **LIB, "$ip": "1.2.3.4", "$current_url": "https://x/cart",
                            "$user_agent": "UA"}
    assert batch.event == ["Order Completed"] and batch.distinct_id == ["user-42"]


def test_gzip_batch_anonymous_numeric_ids_and_write_key_in_body():
    doc = {"batch": [msg(user=None, anon="anon-7f3a", event="Landing"), msg(user=42, event="E")],
           "writeKey": "body_key"}
    batch = parse(WireRequest("/v1/batch", {}, {"content-encoding": "gzip"},
                              gzip.compress(json.dumps(doc).encode())), NOW)
    assert batch.key == "body_key" and batch.distinct_id == ["anon-7f3a", "42"]
    assert batch.timestamp_us == [parse_iso_us("2026-11-21T21:54:21.228+00:00", "t")] * 2  # no sentAt


def test_identify_alias_and_both_ids():
    batch = run(msg("identify", anon="anon-7f3a", traits={"email": "a@b.c"}),
                msg("alias", previousId="anon-7f3a"),
                msg(anon="anon-9", event="Bought"))
    assert batch.event == ["$identify", "$create_alias", "Bought"]
    assert props(batch, 0) == {"$set": {"email": "a@b.c"}, **LIB}
    assert props(batch, 1) == {"alias": "anon-7f3a", **LIB}
    assert batch.links == [IdentityLink("anon-7f3a", "user-42", "identify", 0),
                           IdentityLink("anon-7f3a", "user-42", "alias", 1),
                           IdentityLink("anon-9", "user-42", "identify", 2)]
    assert batch.person_ops == [PersonOp("user-42", "set", {"email": "a@b.c"}, 0)]


def test_page_screen_group():
    batch = run(msg("page", name="Install", category="Docs", properties={"url": "https://x/y"}),
                msg("screen", name="Home", category=None, properties={"v": 2}),
                msg("group", groupId="acme", traits={"name": "Acme Inc"}))
    assert batch.event == ["$pageview", "$screen", "$groupidentify"]
    assert props(batch, 0) == {"url": "https://x/y", "name": "Install", "$current_url": "https://x/y",
                               "category": "Docs", **LIB}
    assert props(batch, 1) == {"v": 2, "$screen_name": "Home", **LIB}
    assert props(batch, 2) == {"$group_type": "group", "$group_key": "acme",
                               "$group_set": {"name": "Acme Inc"}, **LIB}


def test_single_message_endpoint_takes_type_from_path():
    body = {"userId": "u", "event": "Clicked", "originalTimestamp": "2026-11-21T21:54:20+00:00",
            "writeKey": "k1"}
    batch = parse(WireRequest("/v1/track", {}, {}, json.dumps(body).encode()), NOW)
    assert (batch.key, batch.event, batch.messages) == ("k1", ["Clicked"], 1)
    assert batch.timestamp_us == [parse_iso_us("2026-11-21T21:54:20+00:00", "t")]
    assert batch.uuid[0] != "" and len(batch.uuid[0]) == 36  # content hash


def test_bad_messages_are_rejected_alone():
    batch = run(msg(event="ok"), msg(user=None, event="x"), msg("alias", user=None, anon="a", previousId="b"),
                msg("fly"), msg(event="y", messageId=5), msg(event="z", properties="p"), 3)
    assert batch.event == ["ok"] and batch.messages == 7
    assert [(r.index, r.field) for r in batch.rejected] == [
        (1, "userId"), (2, "userId"), (3, "type"), (4, "messageId"), (5, "properties"), (6, None)]
    assert batch.rejected[0].reason == "userId or anonymousId is required"


def test_request_errors():
    with pytest.raises(Unauthorized, match="Basic"):
        run(msg(event="e"), headers={}, writeKey=None)
    with pytest.raises(BadRequest, match="batch"):
        parse(WireRequest("/v1/batch", {}, AUTH, b'{"batch": 1}'), NOW)
    with pytest.raises(BadRequest, match="^body is not JSON"):
        parse(WireRequest("/v1/batch", {}, AUTH, b"[1"), NOW)


def test_replies():
    assert FORMAT.ok(Outcome(stored=1)) == (200, {"success": True})
    assert FORMAT.error(401, "unknown_key", "no such write key") == {
        "code": "unknown_key", "message": "no such write key"}
    assert {"/v1/batch", "/v1/import", "/v1/identify", "/v1/group"} <= set(FORMAT.paths)
