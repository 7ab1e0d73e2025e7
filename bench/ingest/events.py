"""Event bodies as the PostHog Python SDK sends them, and request templates that are cheap to vary.

An event looks like one ``posthog.capture(...)`` makes: the SDK's own properties (``$lib``,
``$lib_version``, ``$geoip_disable``, the OS), a few properties of the app, a
millisecond ISO timestamp and a uuid4 — about 370 bytes. A batch body is what the SDK's
consumer thread posts to ``/batch/``: ``{"batch": [...], "historical_migration": false,
"sent_at": ..., "api_key": ...}``.

The load generator must not compete with the server for the CPU, so complete HTTP requests
are built once (:class:`RequestTemplates`). Every uuid of a template ends in the same
12-character placeholder; one ``bytes.replace`` with a per-request hex counter makes all of
a request's uuids new while the request keeps its length (``Content-Length`` stays right).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

PLACEHOLDER = b"@" * 12  # replaced by a 12-digit hex counter: the uuid's last group
LIB_VERSION = "7.0.0"
EVENT_NAMES = ("$pageview", "$pageview", "$pageview", "signed_in", "search", "add_to_cart",
               "checkout_started", "order_paid", "video_played", "share")
PAGES = ("/", "/pricing", "/docs", "/blog/launch", "/signup", "/checkout", "/account", "/search")
OS = (("Linux", "6.8.0"), ("Mac OS X", "14.5"), ("Windows", "10.0"), ("Android", "14"), ("iOS", "17.5"))
BROWSERS = ("Chrome", "Safari", "Firefox", "Edge", "WeChat")
DEVICES = ("Desktop", "Mobile", "Tablet")
CHANNELS = ("organic", "paid_search", "social", "email", "referral")


def iso_ms(moment: dt.datetime) -> str:
    """ISO 8601 with microseconds and an offset, as the SDK writes timestamps."""
    return moment.astimezone(dt.UTC).isoformat()


def sdk_event(rng: random.Random, distinct_id: str, event_uuid: str, moment: dt.datetime,
              event: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event shaped like posthog-python's ``capture`` message (~370 bytes as JSON)."""
    os_name, os_version = rng.choice(OS)
    props: dict[str, Any] = {
        "$lib": "posthog-python",
        "$lib_version": LIB_VERSION,
        "$geoip_disable": True,
        "$os": os_name,
        "$os_version": os_version,
        "$browser": rng.choice(BROWSERS),
        "$device_type": rng.choice(DEVICES),
        "$current_url": "https://example.com" + rng.choice(PAGES),
        "channel": rng.choice(CHANNELS),
        "plan": rng.choice(("free", "pro", "team")),
        "amount": round(rng.uniform(1, 500), 2),
    }
    if extra:
        props.update(extra)
    return {"event": event or rng.choice(EVENT_NAMES), "distinct_id": distinct_id, "properties": props,
            "timestamp": iso_ms(moment), "uuid": event_uuid}


def batch_body(events: Sequence[dict[str, Any]], api_key: str, sent_at: dt.datetime) -> bytes:
    """The JSON body posthog-python posts to ``/batch/``."""
    return orjson.dumps({"batch": list(events), "historical_migration": False,
                         "sent_at": iso_ms(sent_at), "api_key": api_key})


def http_post(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    """A complete HTTP/1.1 keep-alive POST request of a JSON ``body``."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: posthog-python/{LIB_VERSION}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class RequestTemplates:
    """Pre-built ``POST /batch/`` requests of ``batch_size`` events; :meth:`next` varies their uuids.

    ``templates`` requests are built from ``users`` distinct_ids (``user-00042`` …), each event's
    user drawn at random; the uuid of event ``j`` of template ``t`` is
    ``<run>-<t>-4<j>-8000-<counter>``, so no two requests of one generator share an uuid and two
    generators (different ``run`` values) never collide.
    """

    def __init__(self, api_key: str, *, batch_size: int = 100, templates: int = 1000,
                 users: int = 100_000, seed: int = 1, path: str = "/batch/") -> None:
        rng = random.Random(seed)
        self.run = uuidlib.uuid4().hex[:8]
        self.batch_size = batch_size
        now = dt.datetime.now(dt.UTC)
        self.requests: list[bytes] = []
        for t in range(templates):
            events = [
                sdk_event(rng, f"user-{rng.randrange(users):05d}",
                          f"{self.run}-{t % 0x10000:04x}-4{j % 0x1000:03x}-8000-{PLACEHOLDER.decode()}",
                          now - dt.timedelta(milliseconds=rng.randrange(10_000)))
                for j in range(batch_size)]
            self.requests.append(http_post(path, batch_body(events, api_key, now)))
        self.body_bytes = sum(len(r) for r in self.requests) // len(self.requests)
        self._counter = 0

    def next(self) -> bytes:
        """The next request: a template with a new counter in every uuid (one ``bytes.replace``)."""
        self._counter += 1
        template = self.requests[self._counter % len(self.requests)]
        return template.replace(PLACEHOLDER, b"%012x" % self._counter)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            yield self.next()

    @property
    def sent(self) -> int:
        return self._counter
