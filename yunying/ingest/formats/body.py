"""Decoding shared by the wire formats: compression, form fields, base64, JSON, credentials.

Every function here either returns the decoded value or raises :class:`BadRequest` (HTTP 400)
with a reason the sender can act on — "body is not valid gzip", "field data is not valid
base64", "body is not JSON: <parser message>" — or :class:`TooLarge` (HTTP 413) when a body
grows past the setting ``max_decoded_bytes`` once gzip / base64 is undone.

* :func:`decode_body` undoes ``Content-Encoding: gzip`` (or ``deflate``), or the query
  ``?compression=gzip`` / ``gzip-js`` that posthog-js uses instead of the header.
* :func:`form_fields` reads ``application/x-www-form-urlencoded`` (last value wins).
* :func:`b64decode` accepts standard and URL-safe base64, missing padding, and a ``+`` that
  a careless form encoder left as a space.
* :func:`json_field` reads a field holding JSON text, or base64 of it, gzipped or not.

The small field checks every format needs (:func:`optional_id`, :func:`json_object`,
:func:`epoch_s_or_ms_us`) and the credential readers (:func:`basic_auth`, :func:`bearer`)
live here too, so that a format module only states its own rules.
"""

from __future__ import annotations

import binascii
import urllib.parse
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from yunying import settings
from yunying.ingest.batch import (
    MAX_ID_CHARS,
    BadRequest,
    MessageError,
    Unauthorized,
    epoch_us,
    parse_iso_us,
    text_id,
)
from yunying.ingest.formats import WireRequest

GZIP_MAGIC = b"\x1f\x8b"
_URLSAFE = str.maketrans("-_", "+/")


class TooLarge(BadRequest):
    """The body is larger than ``max_decoded_bytes`` once decoded (HTTP 413)."""


def _check_size(size: int, what: str) -> None:
    limit = settings.get("max_decoded_bytes")
    if size > limit:
        raise TooLarge(f"{what} is larger than {limit} bytes once decoded")


# ----------------------------------------------------------------------------- compression
def gunzip(data: bytes, what: str = "body") -> bytes:
    """``data`` un-gzipped (several concatenated members allowed), at most ``max_decoded_bytes``."""
    limit = settings.get("max_decoded_bytes")
    parts: list[bytes] = []
    total = 0
    while True:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = member.decompress(data, limit - total + 1)
        except zlib.error:
            raise BadRequest(f"{what} is not valid gzip") from None
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"{what} is larger than {limit} bytes once decoded")
        if not member.eof:
            raise BadRequest(f"{what} is not valid gzip (truncated)")
        parts.append(chunk)
        data = member.unused_data
        if not data.strip(b"\x00"):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _inflate(data: bytes) -> bytes:
    limit = settings.get("max_decoded_bytes")
    try:
        member = zlib.decompressobj()
        out = member.decompress(data, limit + 1)
    except zlib.error:
        raise BadRequest("body is not valid deflate (zlib)") from None
    _check_size(len(out), "body")
    if not member.eof:
        raise BadRequest("body is not valid deflate (zlib) (truncated)")
    return out


def decode_body(req: WireRequest) -> bytes:
    """The request body with its compression undone.

    ``Content-Encoding: gzip`` / ``x-gzip`` / ``deflate`` / ``identity``; without the header,
    the query ``compression=gzip`` or ``gzip-js`` (posthog-js). ``compression=base64`` means a
    form body with a base64 ``data`` field and is left to the format.
    """
    encoding = req.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return gunzip(req.body)
    if encoding == "deflate":
        return _inflate(req.body)
    if encoding not in ("", "identity"):
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported (send gzip or none)")
    compression = req.query.get("compression", "").lower()
    if compression in ("gzip", "gzip-js"):
        return gunzip(req.body)
    if compression not in ("", "base64"):
        raise BadRequest(f"compression={compression} is not supported (use gzip-js or base64)")
    _check_size(len(req.body), "body")
    return req.body


# ----------------------------------------------------------------------------- form, base64, JSON
def _unquote(raw: bytes) -> bytes:
    """Form-decode one name or value: ``+`` is a space, ``%XX`` a byte.

    Fast path in C: percent escapes become quoted-printable ``=XX`` for ``binascii.a2b_qp``
    (a literal ``=`` first becomes ``=3D``). Every valid escape shrinks the text by two bytes,
    so a length mismatch means a malformed escape: then urllib decodes it, leaving it as is.
    Raw line breaks (soft line breaks to quoted-printable) also take urllib's path.
    """
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw
    if b"\n" in raw or b"\r" in raw:
        return urllib.parse.unquote_to_bytes(raw)
    out = binascii.a2b_qp(raw.replace(b"=", b"=3D").replace(b"%", b"="))
    if len(out) != len(raw) - 2 * raw.count(b"%"):
        return urllib.parse.unquote_to_bytes(raw)
    return out


def form_fields(data: bytes) -> dict[str, str]:
    """The fields of a form-encoded body (the last of repeated names wins)."""
    fields: dict[str, str] = {}
    for pair in data.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        try:
            fields[_unquote(name).decode()] = _unquote(value).decode()
        except UnicodeDecodeError:
            raise BadRequest("form body is not valid UTF-8 once url-decoded") from None
    return fields


def b64decode(text: str, field: str) -> bytes:
    """Bytes of base64 ``text`` (field ``field``): standard or URL-safe, padding optional."""
    text = text.strip().replace(" ", "+").replace("\n", "").replace("\r", "")
    if "-" in text or "_" in text:
        text = text.translate(_URLSAFE)
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"field {field} is not valid base64") from None


def loads(data: bytes | str, what: str = "body") -> Any:
    """Parsed JSON of ``data`` (orjson); ``what`` names it in the error."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not JSON: {exc}") from None


def json_field(text: str, field: str, *, gzipped: bool = False) -> Any:
    """Parsed JSON of a form field holding JSON text, or base64 of JSON (gzipped or not).

    Gzip is undone when ``gzipped`` says so or when the decoded bytes start with its magic.
    """
    stripped = text.lstrip()
    if not gzipped and stripped[:1] in ("{", "["):
        return loads(stripped, f"field {field}")
    raw = b64decode(stripped, field)
    if gzipped or raw[:2] == GZIP_MAGIC:
        raw = gunzip(raw, f"field {field}")
    return loads(raw, f"field {field}")


def looks_like_json(data: bytes) -> bool:
    """True when ``data`` starts (after white space) with ``{`` or ``[``."""
    return data.lstrip()[:1] in (b"{", b"[")


# ----------------------------------------------------------------------------- credentials
def basic_auth(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header; None when there is none."""
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        text = binascii.a2b_base64(credentials.strip(), strict_mode=True).decode()
    except (binascii.Error, ValueError):
        raise Unauthorized("Authorization: Basic must be followed by base64 of '<key>:'") from None
    user, _, password = text.partition(":")
    return user, password


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# ----------------------------------------------------------------------------- message fields
def required_id(value: Any, field: str) -> str:
    """A distinct_id / event name that must be present (see ``batch.text_id``)."""
    if type(value) is str:  # the common case, without text_id's general checks
        text = value.strip()
        if text and len(text) <= MAX_ID_CHARS:
            return text
    elif value is None:
        raise MessageError(f"{field} is missing", field)
    return text_id(value, field)


def maybe_id(value: Any, field: str) -> str | None:
    """A distinct_id that may be absent: None or "" → None, else checked by ``text_id``."""
    if value is None or value == "":
        return None
    return text_id(value, field)


def sent_at_us(value: Any) -> int | None:
    """A request's ISO 8601 sent-at in UTC µs; None when absent or unreadable (then ignored)."""
    if value is None:
        return None
    try:
        return parse_iso_us(value, "sent_at")
    except MessageError:
        return None


def name_list(value: Any, field: str) -> list[str]:
    """A list of property names (``$unset``); a JSON object stands for its keys."""
    if type(value) is dict:
        return list(value)
    if type(value) is not list or not all(type(name) is str for name in value):
        raise MessageError(f"{field} must be a list of property names", field)
    return value


def optional_id(value: Any, field: str) -> str | None:
    """An event id (dedup key): None when absent or empty, else a string of ≤ 200 characters."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise MessageError(f"{field} must be a string", field)
    if len(value) > MAX_ID_CHARS:
        raise MessageError(f"{field} is longer than {MAX_ID_CHARS} characters", field)
    return value


def json_object(value: Any, field: str) -> dict[str, Any]:
    """``value`` when it is a JSON object, {} when absent (None); else the message is rejected."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise MessageError(f"{field} must be a JSON object", field)
    return value


def epoch_s_or_ms_us(value: Any, field: str) -> int:
    """UTC µs of an epoch in seconds, or in milliseconds when ≥ 1e11 (after year 5138 in s)."""
    if type(value) in (int, float) and value >= 100_000_000_000:
        return epoch_us(value, field, unit_us=1_000)
    return epoch_us(value, field, unit_us=1_000_000)
