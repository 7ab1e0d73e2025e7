"""Closed-loop (as fast as acknowledged) and open-loop (fixed rate) load over keep-alive connections.

* :func:`closed_loop` — ``connections`` senders, each posting its next request as soon as
  the previous one is answered: the sustained rate the server acknowledges.
* :func:`open_loop` — requests are *scheduled* at a fixed rate whatever the server does, and
  each latency runs from the scheduled time to the 200, so time spent waiting for a free
  connection or retrying a 503 counts (no coordinated omission).

Only HTTP 200 acknowledges a request; a 503 is retried after its ``Retry-After`` (as the SDKs
do) and counted; a broken connection is counted and retried after 50 ms. The generator's
own CPU time (``getrusage``) is measured over the same window as the throughput.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.ingest.client import Connection, Response
from bench.ingest.events import RequestTemplates

RETRY_PAUSE_S = 0.05
now = time.perf_counter  # uvloop's loop.time() only has millisecond resolution


def process_cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class LoadResult:
    """What one load run measured, over its measured window only."""

    seconds: float
    batch_size: int
    requests_ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, 200 included
    errors: int = 0  # broken connections
    latencies_s: list[float] = field(default_factory=list)  # of acknowledged requests
    generator_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    scheduled: int = 0  # open loop: requests that were due in the window

    @property
    def events_ok(self) -> int:
        return self.requests_ok * self.batch_size

    @property
    def events_per_s(self) -> float:
        return self.events_ok / self.seconds if self.seconds else 0.0

    def latency_ms(self, q: float) -> float | None:
        """The ``q``-th percentile (0–100) of acknowledge latency in milliseconds."""
        if not self.latencies_s:
            return None
        return float(np.percentile(np.asarray(self.latencies_s), q) * 1000)

    def as_dict(self) -> dict:
        return {
            "seconds": round(self.seconds, 3),
            "batch_size": self.batch_size,
            "requests_ok": self.requests_ok,
            "events_ok": self.events_ok,
            "events_per_s": round(self.events_per_s, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "connection_errors": self.errors,
            "latency_ms": {f"p{q}": _round(self.latency_ms(q)) for q in (50, 90, 99, 99.9)}
                          | {"max": _round(max(self.latencies_s) * 1000 if self.latencies_s else None)},
            "generator_cpu_cores": round(self.generator_cpu_s / self.seconds, 3) if self.seconds else None,
            "server_cpu_cores": (round(self.server_cpu_s / self.seconds, 3)
                                 if self.server_cpu_s is not None and self.seconds else None),
            "scheduled_requests": self.scheduled or None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class _Window:
    """CPU clocks (this process and, optionally, the server) read at the window's edges."""

    def __init__(self, server_cpu: Callable[[], float] | None) -> None:
        self.server_cpu = server_cpu
        self.wall = self.cpu = 0.0
        self.server: float | None = None

    def open(self) -> None:
        self.wall, self.cpu = now(), process_cpu_seconds()
        self.server = self.server_cpu() if self.server_cpu else None

    def close(self, result: LoadResult) -> None:
        result.seconds = now() - self.wall
        result.generator_cpu_s = process_cpu_seconds() - self.cpu
        if self.server_cpu and self.server is not None:
            result.server_cpu_s = self.server_cpu() - self.server


async def _post_until_ok(conn: Connection, request: bytes, result: LoadResult,
                         deadline: float) -> Response | None:
    """Post ``request`` until it is answered 200 (retrying 503s and broken connections)."""
    while now() < deadline:
        try:
            response = await conn.post(request)
        except OSError:
            result.errors += 1
            await asyncio.sleep(RETRY_PAUSE_S)
            continue
        result.statuses[response.status] += 1
        if response.status == 200:
            return response
        await asyncio.sleep(response.retry_after or RETRY_PAUSE_S)
    return None


async def closed_loop(host: str, port: int, templates: RequestTemplates, *, connections: int,
                      seconds: float, warmup: float = 3.0,
                      server_cpu: Callable[[], float] | None = None) -> LoadResult:
    """Post as fast as answers come back; count 200s that arrive within the measured window."""
    loop = asyncio.get_running_loop()
    result = LoadResult(seconds, templates.batch_size)
    window = _Window(server_cpu)
    measure_from = now() + warmup
    end = measure_from + seconds
    loop.call_later(warmup, window.open)

    async def sender() -> None:
        conn = Connection(host, port)
        try:
            while now() < end:
                sent = now()
                if await _post_until_ok(conn, templates.next(), result, end) is None:
                    break
                done = now()
                if measure_from <= done <= end:
                    result.requests_ok += 1
                    result.latencies_s.append(done - sent)
        finally:
            conn.close()

    await asyncio.gather(*(sender() for _ in range(connections)))
    window.close(result)
    return result


@dataclass
class Tick:
    """One interval of an open-loop run (for the soak's table)."""

    elapsed_s: float
    acknowledged: int  # requests answered 200 in the interval
    latencies_s: list[float]


async def open_loop(host: str, port: int, templates: RequestTemplates, *, rate: float, seconds: float,
                    connections: int, server_cpu: Callable[[], float] | None = None,
                    tick_s: float = 0.0, on_tick: Callable[[Tick], None] | None = None) -> LoadResult:
    """Schedule ``rate`` requests a second for ``seconds``; latency from each scheduled time.

    ``on_tick`` (if given) is called every ``tick_s`` seconds with that interval's latencies.
    Requests still unanswered at the end get 30 s more before the run gives up on them.
    """
    result = LoadResult(seconds, templates.batch_size)
    window = _Window(server_cpu)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    start = now() + 0.05
    total = int(rate * seconds)
    result.scheduled = total
    interval: list[float] = []

    async def scheduler() -> None:
        await asyncio.sleep(max(0.0, start - now()))
        window.open()
        for i in range(total):
            at = start + i / rate
            delay = at - now()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((at, templates.next()))
        for _ in range(connections):
            queue.put_nowait(None)

    async def sender() -> None:
        conn = Connection(host, port)
        try:
            while (item := await queue.get()) is not None:
                at, request = item
                if await _post_until_ok(conn, request, result, start + seconds + 30) is None:
                    continue
                latency = now() - at
                result.requests_ok += 1
                result.latencies_s.append(latency)
                interval.append(latency)
        finally:
            conn.close()

    async def ticker() -> None:
        n = 0
        while on_tick is not None and tick_s > 0:
            n += 1
            await asyncio.sleep(max(0.0, start + n * tick_s - now()))
            done, interval[:] = list(interval), []
            on_tick(Tick(n * tick_s, len(done), done))

    ticks = asyncio.create_task(ticker())
    await asyncio.gather(scheduler(), *(sender() for _ in range(connections)))
    ticks.cancel()
    window.close(result)
    return result


def run(coro_factory: Callable[[], object]) -> LoadResult:
    """Run one load coroutine on uvloop when it is installed (cheaper per request), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    return uvloop.run(coro_factory())  # type: ignore[arg-type]
