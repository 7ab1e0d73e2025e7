"""The two engines, each behind a long-lived worker process (separate memory, own threads).

The driver sends one command at a time over a pipe; the worker times the call itself
(``time.perf_counter`` around the public entry point: ``run_query`` for yunying, a chdb
query fetched as an Arrow table for ClickHouse) and measures the call's peak RSS.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from bench import memory
from bench.queries import QUERIES, Canonical, QuerySpec, Window

PROJECT = "bench"


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss: int  # bytes, peak of the worker process during the call
    result: Canonical | None


class Engine(Protocol):
    name: str

    def run(self, spec: QuerySpec, window: Window) -> Any: ...

    def canonical(self, spec: QuerySpec, raw: Any, window: Window) -> Canonical: ...

    def version(self) -> str: ...


class YunyingEngine:
    name = "yunying"

    def __init__(self, location: str) -> None:
        from yunying.insights import run_query
        from yunying.store import connect

        self._run_query = run_query
        self.store = connect(location, read_only=True)
        self.project = self.store.project(PROJECT)

    def run(self, spec: QuerySpec, window: Window) -> Any:
        return self._run_query(self.store, self.project, spec.document(window))

    def canonical(self, spec: QuerySpec, raw: Any, window: Window) -> Canonical:
        return spec.from_yunying(raw, window)

    def version(self) -> str:
        import duckdb
        import ibis
        import numba

        return f"duckdb {duckdb.__version__}, ibis {ibis.__version__}, numba {numba.__version__}"


class ClickHouseEngine:
    name = "clickhouse"

    def __init__(self, location: str) -> None:
        from chdb import session

        self.session = session.Session(location)

    def run(self, spec: QuerySpec, window: Window) -> Any:
        return self.session.query(spec.sql(window), "ArrowTable")

    def canonical(self, spec: QuerySpec, raw: Any, window: Window) -> Canonical:
        return spec.from_clickhouse(raw, window)

    def version(self) -> str:
        import chdb

        found = self.session.query("SELECT version()", "CSV").data().strip().strip('"')
        return f"chdb {chdb.__version__}, ClickHouse {found}"


ENGINES: dict[str, type[YunyingEngine] | type[ClickHouseEngine]] = {
    "yunying": YunyingEngine, "clickhouse": ClickHouseEngine,
}


def measure(engine: Engine, spec: QuerySpec, window: Window, keep: bool) -> Measurement:
    memory.reset_peak()
    started = time.perf_counter()
    raw = engine.run(spec, window)
    seconds = time.perf_counter() - started
    peak = memory.peak_rss_bytes()
    return Measurement(seconds, peak, engine.canonical(spec, raw, window) if keep else None)


def _handle(engine: Engine, command: str, args: tuple[Any, ...]) -> Any:
    if command == "query":
        name, window, keep = args
        return measure(engine, QUERIES[name], window, keep)
    if command == "profile":
        from bench.profiling import profile_all

        assert isinstance(engine, YunyingEngine)
        return profile_all(engine, *args)
    raise ValueError(f"unknown command {command!r}")


def _serve(kind: str, location: str, conn: Connection) -> None:
    try:
        engine: Engine = ENGINES[kind](location)
        conn.send(("ok", engine.version()))
    except Exception:  # noqa: BLE001 - reported to the driver
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        command, args = conn.recv()
        if command == "stop":
            conn.send(("ok", None))
            return
        try:
            conn.send(("ok", _handle(engine, command, args)))
        except Exception:  # noqa: BLE001 - reported to the driver
            conn.send(("error", traceback.format_exc()))


class WorkerError(RuntimeError):
    pass


class ProcessWorker:
    """A long-lived spawned process running ``serve(kind, *args, conn)``, which answers its first
    message (what it opened) and then ``(command, args)`` requests until ``stop``, each with
    ``("ok", value)`` or ``("error", traceback)``."""

    def __init__(self, serve: Any, kind: str, *args: Any) -> None:
        context = mp.get_context("spawn")
        self.kind = kind
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(kind, *args, child), daemon=True)
        self._process.start()
        self.opened: Any = self._reply()

    def _reply(self) -> Any:
        status, value = self._conn.recv()
        if status != "ok":
            raise WorkerError(f"{self.kind} worker failed:\n{value}")
        return value

    def call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._reply()

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(EOFError, BrokenPipeError, WorkerError):
                self.call("stop")
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Worker(ProcessWorker):
    """A long-lived process serving one engine (``with Worker(kind, location) as w: ...``)."""

    def __init__(self, kind: str, location: str) -> None:
        super().__init__(_serve, kind, location)
        self.version: str = self.opened

    def query(self, name: str, window: Window, keep: bool = False) -> Measurement:
        result: Measurement = self.call("query", name, window, keep)
        return result
