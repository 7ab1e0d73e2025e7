"""A crash harness for ``yunying serve``: SDK-like senders that retry, and a server killed at random.

:class:`CrashRun` starts a server on a fresh store, runs ``senders`` threads that post
PostHog ``/batch/`` requests the way an SDK does — a request is *acknowledged* only by an
exact HTTP 200; on a broken connection or a 5xx the same body (same uuids) is sent again
until it is; a fraction of acknowledged bodies is deliberately sent once more — and,
meanwhile, ``kill -9``\\s the server ``kills`` times at random moments, restarting it on the
same store each time. Everything is recorded in a :class:`Ledger` for the test to compare
with what the store holds once the server has stopped cleanly.
"""

from __future__ import annotations

import datetime as dt
import http.client
import random
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.ingest.events import batch_body, sdk_event
from bench.ingest.server import Server, create_project

# (random generator, sender number) -> the events of one batch
BatchMaker = Callable[[random.Random, int], list[dict[str, Any]]]


@dataclass
class Ledger:
    """What the senders sent and what the server acknowledged (thread-safe through ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: set[str] = field(default_factory=set)  # every uuid ever posted
    acked: set[str] = field(default_factory=set)  # uuids of requests answered exactly 200
    acked_distinct_ids: set[str] = field(default_factory=set)
    acked_aliases: set[tuple[str, str]] = field(default_factory=set)  # ($create_alias alias, distinct_id)
    requests: int = 0
    acknowledged_requests: int = 0
    resent_after_ack: int = 0
    retries: int = 0
    broken: int = 0  # requests cut off after they were sent (the server died with them in flight)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # unexpected answers: the test fails

    def count_status(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def random_uuid(rng: random.Random) -> str:
    """A uuid4 from ``rng`` (reproducible from the seed)."""
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def plain_batch(rng: random.Random, sender: int) -> list[dict[str, Any]]:
    """1–200 SDK-like events from a pool of 5,000 users, each with a new uuid."""
    now = dt.datetime.now(dt.UTC)
    return [sdk_event(rng, f"user-{rng.randrange(5000)}", random_uuid(rng), now)
            for _ in range(rng.randint(1, 200))]


class Sender(threading.Thread):
    """One SDK: posts batches until told to stop; retries each body until it is answered 200."""

    def __init__(self, number: int, crash: CrashRun, seed: int) -> None:
        super().__init__(name=f"sender-{number}", daemon=True)
        self.number = number
        self.crash = crash
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None

    def run(self) -> None:
        crash, ledger = self.crash, self.crash.ledger
        try:
            while not crash.stop.is_set():
                events = crash.make_batch(self.rng, self.number)
                body = batch_body(events, crash.ingest_key, dt.datetime.now(dt.UTC))
                uuids = [e["uuid"] for e in events]
                with ledger.lock:
                    ledger.sent.update(uuids)
                if not self.deliver(body):
                    return
                with ledger.lock:
                    ledger.acked.update(uuids)
                    ledger.acked_distinct_ids.update(e["distinct_id"] for e in events)
                    ledger.acked_aliases.update((e["properties"]["alias"], e["distinct_id"])
                                                for e in events if e["event"] == "$create_alias")
                    ledger.acknowledged_requests += 1
                if self.rng.random() < crash.resend_fraction:  # an SDK that never saw the 200
                    with ledger.lock:
                        ledger.resent_after_ack += 1
                    if not self.deliver(body):
                        return
        except Exception as exc:  # noqa: BLE001 - reported by the test
            with ledger.lock:
                ledger.failures.append(f"{self.name}: {type(exc).__name__}: {exc}")
        finally:
            if self.conn is not None:
                self.conn.close()

    def deliver(self, body: bytes) -> bool:
        """Post ``body`` until it is answered 200; False when the run's deadline passes first."""
        crash, ledger = self.crash, self.crash.ledger
        while time.monotonic() < crash.deadline:
            with ledger.lock:
                ledger.requests += 1
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", crash.server.port, timeout=30)
                self.conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                response.read()
            except ConnectionRefusedError:  # the server is down: wait for it
                self.reset()
                continue
            except (OSError, http.client.HTTPException):  # killed with this request in flight
                with ledger.lock:
                    ledger.broken += 1
                self.reset()
                continue
            ledger.count_status(response.status)
            if response.status == 200:
                return True
            if response.status in (500, 503):  # retry after a pause, as the SDKs do
                self.reset(float(response.getheader("Retry-After") or 0.1))
                continue
            with ledger.lock:
                ledger.failures.append(f"{self.name}: HTTP {response.status} to a valid batch")
            return False
        with ledger.lock:
            ledger.failures.append(f"{self.name}: a batch was still unacknowledged at the deadline")
        return False

    def reset(self, pause: float | None = None) -> None:
        """Drop the connection and wait a little before the retry (the server may be restarting)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        with self.crash.ledger.lock:
            self.crash.ledger.retries += 1
        time.sleep(pause if pause is not None else self.rng.uniform(0.05, 0.2))


class CrashRun:
    """A store, its server, the senders and the killer (see the module docstring)."""

    def __init__(self, directory: Path, seed: int, make_batch: BatchMaker = plain_batch, *,
                 senders: int = 4, kills: int = 5, gap_s: tuple[float, float] = (0.3, 2.0),
                 resend_fraction: float = 0.1, time_limit_s: float = 100.0) -> None:
        self.db = directory / "crash.duckdb"
        self.ingest_key = create_project(self.db, "crash").ingest_key
        self.server = Server(self.db, log=directory / "serve.log")
        self.rng = random.Random(seed)
        self.seed = seed
        self.make_batch = make_batch
        self.n_senders, self.kills, self.gap_s = senders, kills, gap_s
        self.resend_fraction = resend_fraction
        self.time_limit_s = time_limit_s
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.deadline = 0.0
        self.killed_at: list[float] = []  # seconds after the start

    def run(self) -> None:
        """Send, kill and restart ``kills`` times, send a little more, then stop cleanly."""
        self.deadline = time.monotonic() + self.time_limit_s
        self.server.start()
        started = time.monotonic()
        senders = [Sender(i, self, self.rng.getrandbits(64)) for i in range(self.n_senders)]
        for sender in senders:
            sender.start()
        try:
            for _ in range(self.kills):
                time.sleep(self.rng.uniform(*self.gap_s))
                self.server.kill()
                self.killed_at.append(round(time.monotonic() - started, 2))
                self.server.start()
            time.sleep(self.rng.uniform(*self.gap_s))
        finally:
            self.stop.set()
            for sender in senders:
                sender.join(timeout=max(1.0, self.deadline - time.monotonic()))
            self.server.stop()

    def describe(self) -> str:
        """One line for failure messages: the seed first, so the run can be repeated."""
        led = self.ledger
        return (f"seed={self.seed} (YUNYING_CRASH_SEED={self.seed} repeats it); kills at {self.killed_at} s; "
                f"{len(led.sent)} uuids sent, {len(led.acked)} acknowledged, {led.requests} requests, "
                f"{led.retries} retries, {led.broken} cut off in flight, "
                f"{led.resent_after_ack} re-sent after a 200, "
                f"statuses {led.statuses}; "
                f"server log {self.server.log}")
