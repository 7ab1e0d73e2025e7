"""What one capture request becomes once its wire format is understood: an :class:`IngestBatch`.

Every wire format (``ingest/formats/*``) turns a request into the same three kinds of
records, and the writer (``ingest/pipeline.py``) knows nothing of wire formats:

* **events** — columns (``uuid`` … ``properties``) of the events to store, each with the
  ``index`` of the message in the request it came from;
* **identity links** — "these two distinct_ids are the same person" (an anonymous id that
  logged in, an alias, an explicit merge), applied before the request's events;
* **person operations** — ``$set``, ``$set_once``, ``$unset``, ``$add`` … on a person's
  properties, applied after them.

A message that cannot be stored is *rejected* with a reason naming the field; the other
messages of the request are still stored (one bad event never fails its batch).

Timestamps (:func:`client_time_us`): a client's clock is corrected by the difference between
the request's ``sent_at`` (the client's clock when it sent) and the server's clock when the
request arrived, as PostHog does; an event still more than ``future_tolerance_seconds`` in the
future is *clamped* to the arrival time and flagged with the property ``$clamped_timestamp``
(its original time, ISO 8601).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from yunying import settings

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EARLIEST_US = int((dt.datetime(2000, 1, 1, tzinfo=dt.UTC) - EPOCH).total_seconds()) * 1_000_000
MAX_ID_CHARS = 200
MAX_EVENT_CHARS = 200
NOT_OBJECT = "message is not a JSON object"

PersonOpKind = Literal["set", "set_once", "unset", "add", "append", "union", "remove", "delete"]
LinkKind = Literal["identify", "alias", "merge"]


class BadRequest(ValueError):
    """The request as a whole is unreadable (HTTP 400); the message says what to fix."""


class Unauthorized(ValueError):
    """The request carries no key, or a key that does not open this endpoint (HTTP 401)."""


class MessageError(ValueError):
    """One message of a request is invalid; ``field`` names the offending field."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class IdentityLink:
    """``anon_id`` and ``user_id`` are one person from now on.

    ``kind``: ``identify`` (an anonymous id logged in as ``user_id``), ``alias`` (``anon_id``
    is another name of ``user_id``), ``merge`` (an explicit merge by a secret-key holder).
    Only ``merge`` may join two persons that are both identified; the others refuse and count
    it (see docs/metrics.md, "Persons").
    """

    anon_id: str
    user_id: str
    kind: LinkKind
    index: int


@dataclass(frozen=True)
class PersonOp:
    """An operation on the properties of the person of ``distinct_id``.

    ``set``/``set_once``: ``properties`` is a dict of new values (``set_once`` keeps existing
    ones); ``unset``: its keys are removed; ``add``: numeric increments; ``append``/``union``/
    ``remove``: values added to / removed from list properties; ``delete``: the person's
    properties are cleared (its events stay).
    """

    distinct_id: str
    op: PersonOpKind
    properties: dict[str, Any]
    index: int


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    field: str | None = None


@dataclass
class IngestBatch:
    """The canonical content of one request (see the module docstring)."""

    key: str | None = None  # the key the request carried (ingestion key unless says otherwise)
    key_is_secret: bool = False  # True when the wire format authenticates with a secret key
    project_name: str | None = None  # a project named by the request itself (Sensors' ?project=)
    messages: int = 0  # how many messages the request held
    uuid: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    distinct_id: list[str] = field(default_factory=list)
    timestamp_us: list[int] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    links: list[IdentityLink] = field(default_factory=list)
    person_ops: list[PersonOp] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    clamped: int = 0  # events whose timestamp was clamped
    future_tolerance_us: int = field(
        default_factory=lambda: int(settings.get("future_tolerance_seconds")) * 1_000_000)

    def add_event(
        self, index: int, *, uuid: str | None, event: str, distinct_id: str, timestamp_us: int,
        properties: dict[str, Any], now_us: int,
    ) -> None:
        """Append one valid event. ``uuid`` None means: derive one from the content.

        ``timestamp_us`` must come from :func:`client_time_us`; an event further than the
        tolerance in the future is clamped to ``now_us`` here.
        """
        if timestamp_us > now_us + self.future_tolerance_us:
            properties = {**properties, "$clamped_timestamp": iso_from_us(timestamp_us)}
            timestamp_us = now_us
            self.clamped += 1
        props = dump_json(properties)
        self.uuid.append(uuid if uuid else content_uuid(event, distinct_id, timestamp_us, props))
        self.event.append(event)
        self.distinct_id.append(distinct_id)
        self.timestamp_us.append(timestamp_us)
        self.properties.append(props)
        self.index.append(index)

    def reject(self, index: int, reason: str, field: str | None = None) -> None:
        self.rejected.append(Rejection(index, reason, field))

    def read(self, messages: list[Any], read_one: Callable[[int, dict[str, Any]], None], *,
             start: int = 0, field: str | None = None) -> None:
        """Call ``read_one(index, message)`` for each message, numbered from ``start``.

        A message that is not a JSON object, or whose reading raises :class:`MessageError`,
        is rejected alone (``field`` names where non-objects sit); the others go on.
        """
        for index, message in enumerate(messages, start):
            if type(message) is not dict:
                self.reject(index, NOT_OBJECT, field)
                continue
            try:
                read_one(index, message)
            except MessageError as exc:
                self.reject(index, str(exc), exc.field)

    @property
    def event_count(self) -> int:
        return len(self.uuid)


# ----------------------------------------------------------------------------- helpers
def dump_json(value: Any) -> str:
    """Compact JSON text; NaN/Infinity become null (as the SDKs themselves do)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def content_uuid(event: str, distinct_id: str, timestamp_us: int, properties_json: str) -> str:
    """A UUID-shaped MD5 of an event's content: the id of an event whose client sends none.

    The same event sent twice (a retry) gets the same id; two different events never do,
    except for two truly identical events at the same microsecond, which are one event here.
    """
    digest = hashlib.md5(
        "\x1f".join((event, distinct_id, str(timestamp_us), properties_json)).encode(),
        usedforsecurity=False,
    ).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def text_id(value: Any, field: str) -> str:
    """A distinct_id / event name given as a string or an integer, checked and stripped."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MessageError(f"{field} must be a string", field)
    text = str(value).strip()
    if not text:
        raise MessageError(f"{field} is empty", field)
    if len(text) > MAX_ID_CHARS:
        raise MessageError(f"{field} is longer than {MAX_ID_CHARS} characters", field)
    return text


def iso_from_us(timestamp_us: int) -> str:
    return (EPOCH + dt.timedelta(microseconds=timestamp_us)).isoformat()


def us_from_datetime(value: dt.datetime) -> int:
    """UTC microseconds since the epoch; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_iso_us(text: Any, field: str) -> int:
    """UTC microseconds of an ISO 8601 text (``Z`` or an offset; none means UTC)."""
    if not isinstance(text, str):
        raise MessageError(f"{field} must be an ISO 8601 text", field)
    try:
        return us_from_datetime(dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        raise MessageError(
            f"{field} {text[:40]!r} is not ISO 8601 (such as 2024-05-01T10:00:00.123+08:00)", field
        ) from None


def epoch_us(value: Any, field: str, *, unit_us: int) -> int:
    """UTC microseconds of an epoch number counted in units of ``unit_us`` microseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError(f"{field} must be a number (epoch)", field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MessageError(f"{field} is not a finite number", field)
        # round(value * unit_us) would round twice (the product first); the whole part and
        # the fraction of a float are exact, so they are scaled separately.
        whole = int(value)
        return whole * unit_us + round((value - whole) * unit_us)
    return value * unit_us


def client_time_us(
    timestamp_us: int | None, *, sent_at_us: int | None, now_us: int, field: str = "timestamp"
) -> int:
    """An event's time in UTC µs, corrected for the client's clock skew.

    ``timestamp_us`` None means the client gave no time: the arrival time ``now_us``. With a
    ``sent_at_us`` the event is shifted by ``now_us - sent_at_us``. A time before 2000 is an
    error (an epoch in the wrong unit, most likely).
    """
    if timestamp_us is None:
        return now_us
    if sent_at_us is not None:
        timestamp_us += now_us - sent_at_us
    if timestamp_us < EARLIEST_US:
        raise MessageError(f"{field} is before 2000-01-01 (an epoch in the wrong unit?)", field)
    return timestamp_us


@dataclass
class Outcome:
    """What became of one request's messages once its commit is on disk."""

    stored: int = 0  # new events now in the store
    duplicates: int = 0  # events already stored (a retry) — not stored again
    rejected: list[Rejection] = field(default_factory=list)  # messages not stored, with reasons
    profile_updates: int = 0  # person operations and identity links applied
