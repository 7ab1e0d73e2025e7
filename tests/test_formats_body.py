"""Shared decoding of the wire formats (``ingest/formats/body.py``)."""

from __future__ import annotations

import base64
import gzip
import urllib.parse

import pytest

from yunying.ingest.batch import BadRequest, MessageError, Unauthorized
from yunying.ingest.formats import WireRequest
from yunying.ingest.formats.body import (
    TooLarge,
    b64decode,
    basic_auth,
    bearer,
    decode_body,
    epoch_s_or_ms_us,
    form_fields,
    json_field,
    loads,
    optional_id,
)


def req(body: bytes, headers: dict[str, str] | None = None, query: dict[str, str] | None = None):
    return WireRequest("/batch/", query or {}, headers or {}, body)


def test_gzip_by_header_or_query_and_plain_body():
    packed = gzip.compress(b'{"a": 1}')
    assert decode_body(req(packed, {"content-encoding": "gzip"})) == b'{"a": 1}'
    assert decode_body(req(packed, query={"compression": "gzip-js"})) == b'{"a": 1}'
    assert decode_body(req(packed + gzip.compress(b"2"), {"content-encoding": "gzip"})) == b'{"a": 1}2'
    assert decode_body(req(b"{}", query={"compression": "base64"})) == b"{}"


@pytest.mark.parametrize("body, reason", [
    (b"not gzip at all", "body is not valid gzip"),
    (gzip.compress(b'{"a": 1}', mtime=0)[:-6], "body is not valid gzip (truncated)"),
    (b"", "body is not valid gzip (truncated)"),
])
def test_bad_gzip(body, reason):
    with pytest.raises(BadRequest) as exc:
        decode_body(req(body, {"content-encoding": "gzip"}))
    assert str(exc.value) == reason


def test_unsupported_encodings():
    with pytest.raises(BadRequest, match="Content-Encoding 'br' is not supported"):
        decode_body(req(b"x", {"content-encoding": "br"}))
    with pytest.raises(BadRequest, match="compression=lz64 is not supported"):
        decode_body(req(b"x", query={"compression": "lz64"}))


def test_decoded_size_limit(monkeypatch):
    monkeypatch.setenv("YUNYING_MAX_DECODED_BYTES", "100")
    assert decode_body(req(gzip.compress(b"x" * 100), {"content-encoding": "gzip"})) == b"x" * 100
    with pytest.raises(TooLarge, match="body is larger than 100 bytes once decoded"):
        decode_body(req(gzip.compress(b"x" * 101), {"content-encoding": "gzip"}))
    with pytest.raises(TooLarge):
        decode_body(req(b"x" * 101))
    assert issubclass(TooLarge, BadRequest)


@pytest.mark.parametrize("body", [
    b"a=1&b=%E4%B8%AD+x&a=2",
    b"data=%7B%22k%22%3A%22a%3Db%22%7D&verbose=1&ip=0",
    b"d=x=y%3D&e&f=%zz%&g=%25%32%35&h=100%",
    b"x=%0A%0d+%2B=",
])
def test_form_fields_match_urllib(body):
    assert form_fields(body) == dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))


def test_form_field_not_utf8():
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        form_fields(b"data=%FF%FE")


def test_base64_variants():
    raw = b'{"k": "\xe4\xb8\xad?>"}'
    standard = base64.b64encode(raw).decode()
    assert "+" in standard or "/" in standard
    assert b64decode(standard, "data") == raw
    assert b64decode(base64.urlsafe_b64encode(raw).decode().rstrip("="), "data") == raw
    assert b64decode(standard.replace("+", " "), "data") == raw  # '+' left unencoded in a form
    with pytest.raises(BadRequest) as exc:
        b64decode("ab$d", "data")
    assert str(exc.value) == "field data is not valid base64"
    with pytest.raises(BadRequest, match="field data_list is not valid base64"):
        b64decode("abcde", "data_list")


def test_json_errors_name_the_input():
    with pytest.raises(BadRequest) as exc:
        loads(b"{nope")
    assert str(exc.value).startswith("body is not JSON: ")
    with pytest.raises(BadRequest, match="^field data is not JSON: "):
        json_field(base64.b64encode(b"[1,").decode(), "data")


def test_json_field_plain_base64_and_gzip():
    assert json_field(' {"a": [1]}', "data") == {"a": [1]}
    assert json_field(base64.b64encode(b'[{"a": 1}]').decode(), "data") == [{"a": 1}]
    packed = base64.b64encode(gzip.compress(b'{"a": 2}')).decode()
    assert json_field(packed, "data") == {"a": 2}
    assert json_field(packed, "data", gzipped=True) == {"a": 2}
    with pytest.raises(BadRequest, match="^field data is not valid gzip$"):
        json_field(base64.b64encode(b'{"a": 2}').decode(), "data", gzipped=True)


def test_credentials():
    basic = "Basic " + base64.b64encode(b"seg_key:").decode()
    assert basic_auth({"authorization": basic}) == ("seg_key", "")
    service = "Basic " + base64.b64encode(b"sa:s3cret").decode()
    assert basic_auth({"authorization": service}) == ("sa", "s3cret")
    assert basic_auth({}) is None
    assert basic_auth({"authorization": "Bearer x"}) is None
    with pytest.raises(Unauthorized):
        basic_auth({"authorization": "Basic %%%"})
    assert bearer({"authorization": "Bearer  phc_1 "}) == "phc_1"
    assert bearer({"authorization": "Basic x"}) is None
    assert bearer({"authorization": "Bearer"}) is None


def test_epoch_seconds_or_milliseconds():
    assert epoch_s_or_ms_us(1700000000, "time") == 1_700_000_000_000_000
    assert epoch_s_or_ms_us(1700000000.25, "time") == 1_700_000_000_250_000
    assert epoch_s_or_ms_us(1700000000123, "time") == 1_700_000_000_123_000
    with pytest.raises(MessageError) as exc:
        epoch_s_or_ms_us("1700000000", "time")
    assert exc.value.field == "time"


def test_optional_id():
    assert optional_id(None, "uuid") is None
    assert optional_id("", "uuid") is None
    assert optional_id("x" * 200, "uuid") == "x" * 200
    for bad in ("x" * 201, 12):
        with pytest.raises(MessageError) as exc:
            optional_id(bad, "uuid")
        assert exc.value.field == "uuid"
