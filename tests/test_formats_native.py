"""yunying's own ``POST /api/v1/events`` → IngestBatch."""

from __future__ import annotations

import gzip
import json

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
from yunying.ingest.formats.native import FORMAT, EventsRequest, parse

NOW = parse_iso_us("2026-05-01T02:00:10+00:00", "t")
AUTH = {"authorization": "Bearer yy_key"}


def run(doc, headers=AUTH):
    return parse(WireRequest("/api/v1/events", {}, headers, json.dumps(doc).encode()), NOW)


def test_events_times_and_person_updates():
    batch = run({"sent_at": "2026-05-01T10:00:05+08:00", "events": [
        {"uuid": "e-1", "event": "order_paid", "distinct_id": "user-42",
         "timestamp": "2026-05-01T10:00:00.123+08:00", "properties": {"amount": 12.5},
         "$set": {"plan": "pro"}, "$set_once": {"first": "2026-05-01"}, "$unset": ["trial"]},
        {"event": "ping", "distinct_id": 42, "timestamp": 1777600800000},
        {"event": "now", "distinct_id": "u"},
    ]})
    assert (batch.key, batch.key_is_secret, batch.messages) == ("yy_key", False, 3)
    # sent 02:00:05 UTC, arrived 02:00:10: every client time is shifted by +5 s
    assert batch.timestamp_us == [parse_iso_us("2026-05-01T02:00:05.123+00:00", "t"),
                                  1_777_600_805_000_000, NOW]
    assert batch.uuid[0] == "e-1" and batch.distinct_id == ["user-42", "42", "u"]
    assert json.loads(batch.properties[0]) == {"amount": 12.5}  # person updates not stored with it
    assert batch.person_ops == [PersonOp("user-42", "set_once", {"first": "2026-05-01"}, 0),
                                PersonOp("user-42", "set", {"plan": "pro"}, 0),
                                PersonOp("user-42", "unset", {"trial": None}, 0)]


def test_identify_entries_follow_the_events_in_numbering():
    batch = run({"events": [{"event": "e", "distinct_id": "u"}],
                 "identify": [{"anon_id": "anon-1", "user_id": "user-42"}, {"anon_id": "a"}, 5]},
                headers={"x-yunying-key": "yy_key"})
    assert batch.key == "yy_key" and batch.messages == 4
    assert batch.links == [IdentityLink("anon-1", "user-42", "identify", 1)]
    assert batch.rejected == [Rejection(2, "identify.user_id is missing", "identify.user_id"),
                              Rejection(3, "message is not a JSON object", "identify")]


def test_gzip_and_bad_messages():
    doc = {"events": [{"event": "ok", "distinct_id": "u"}, {"event": "x"}, {"event": "y", "distinct_id": "u",
           "timestamp": "soon"}, {"event": "z", "distinct_id": "u", "$set": [1]}, {"event": "w",
           "distinct_id": "u", "timestamp": 1_000}]}
    body = gzip.compress(json.dumps(doc).encode())
    batch = parse(WireRequest("/api/v1/events", {}, {**AUTH, "content-encoding": "gzip"}, body), NOW)
    assert batch.event == ["ok"]
    assert [(r.index, r.field) for r in batch.rejected] == [
        (1, "distinct_id"), (2, "timestamp"), (3, "$set"), (4, "timestamp")]
    assert batch.rejected[3].reason == "timestamp is before 2000-01-01 (an epoch in the wrong unit?)"


def test_request_errors():
    with pytest.raises(Unauthorized, match="Bearer"):
        run({"events": []}, headers={})
    with pytest.raises(BadRequest, match="events must be a JSON array"):
        run({"events": {}})
    with pytest.raises(BadRequest, match="body must be a JSON object"):
        run([])


def test_replies_and_schema():
    outcome = Outcome(stored=2, duplicates=1, rejected=[Rejection(3, "event is missing", "event")])
    assert FORMAT.ok(outcome) == (200, {"stored": 2, "duplicates": 1, "rejected": [
        {"index": 3, "reason": "event is missing", "field": "event"}]})
    assert FORMAT.error(401, "unknown_key", "no such key") == {
        "error": {"code": "unknown_key", "message": "no such key"}}
    schema = EventsRequest.model_json_schema(by_alias=True)
    assert {"$set", "$set_once", "event", "distinct_id"} <= set(schema["$defs"]["EventIn"]["properties"])
