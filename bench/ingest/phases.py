"""The benchmark's four runs, each against its own ``yunying serve`` process.

1. **ceiling** — ``--benchmark-discard``: HTTP + parsing only, closed loop;
2. **durable** — a fresh store, closed loop: the sustained rate of events acknowledged after
   their commit reached the disk;
3. **latency** — a fresh store, open loop at half the durable rate: acknowledge latency from
   each request's scheduled send time;
4. **soak** — a fresh store, the same open loop for ``soak_seconds``, sampling the server's
   RSS (``VmRSS``) every ``sample_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.ingest import load
from bench.ingest.events import RequestTemplates
from bench.ingest.server import Server, create_project

HOST = "127.0.0.1"
MB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    seconds: float
    soak_seconds: float
    connections: int
    batch_size: int
    warmup: float
    sample_seconds: float
    templates: int
    users: int


class Workspace:
    """Fresh stores (one per run) in ``directory``."""

    def __init__(self, directory: Path, options: Options) -> None:
        self.directory = directory
        self.options = options
        self.count = 0

    def server(self, name: str, *, discard: bool = False) -> tuple[Server, RequestTemplates, str]:
        """A new store with one project, its server (not started), request templates and api key."""
        self.count += 1
        db = self.directory / f"{self.count}-{name}.duckdb"
        keys = create_project(db, name)
        templates = RequestTemplates(keys.ingest_key, batch_size=self.options.batch_size,
                                     templates=self.options.templates, users=self.options.users,
                                     seed=self.count)
        return Server(db, discard=discard), templates, keys.api_key


def closed(workspace: Workspace, name: str, *, discard: bool) -> dict[str, Any]:
    """A closed-loop run (the ceiling or the durable rate)."""
    opts = workspace.options
    server, templates, api_key = workspace.server(name, discard=discard)
    with server:
        result = load.run(lambda: load.closed_loop(
            HOST, server.port, templates, connections=opts.connections, seconds=opts.seconds,
            warmup=opts.warmup, server_cpu=server.cpu_seconds))
        out = result.as_dict()
        out["server_rss_mb"] = round(server.rss_bytes() / MB, 1)
        stats = server.ingest_stats(api_key)
        out["server_stats"] = stats["server"]
        out["stored_events"] = None if discard else stats["since_start"]["stored"]
    return out


def latency(workspace: Workspace, events_per_s: float) -> dict[str, Any]:
    """An open-loop run at ``events_per_s``: the acknowledge latency at that load."""
    opts = workspace.options
    server, templates, api_key = workspace.server("latency")
    rate = events_per_s / opts.batch_size
    with server:
        result = load.run(lambda: _warm_then_open(server, templates, rate, opts))
        out = result.as_dict()
        out["target_events_per_s"] = round(events_per_s, 1)
        out["server_stats"] = server.ingest_stats(api_key)["server"]
    return out


async def _warm_then_open(server: Server, templates: RequestTemplates, rate: float,
                          opts: Options) -> load.LoadResult:
    """A short unmeasured open-loop run first (imports, JIT, first commits), then the measured one."""
    if opts.warmup > 0:
        await load.open_loop(HOST, server.port, templates, rate=rate, seconds=opts.warmup,
                             connections=opts.connections)
    return await load.open_loop(HOST, server.port, templates, rate=rate, seconds=opts.seconds,
                                connections=opts.connections, server_cpu=server.cpu_seconds)


def soak(workspace: Workspace, events_per_s: float) -> dict[str, Any]:
    """The open loop for ``soak_seconds`` with the server's RSS sampled every ``sample_seconds``."""
    opts = workspace.options
    server, templates, api_key = workspace.server("soak")
    rate = events_per_s / opts.batch_size
    samples: list[dict[str, Any]] = []
    with server:
        samples.append({"t": 0.0, "rss_mb": round(server.rss_bytes() / MB, 1), "acknowledged_events": 0,
                        "p50_ms": None, "p99_ms": None})

        def tick(t: load.Tick) -> None:
            lat = np.asarray(t.latencies_s) * 1000
            samples.append({"t": t.elapsed_s, "rss_mb": round(server.rss_bytes() / MB, 1),
                            "acknowledged_events": t.acknowledged * opts.batch_size,
                            "p50_ms": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
                            "p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
                            "latencies_ms": lat})

        result = load.run(lambda: load.open_loop(
            HOST, server.port, templates, rate=rate, seconds=opts.soak_seconds,
            connections=opts.connections, server_cpu=server.cpu_seconds,
            tick_s=opts.sample_seconds, on_tick=tick))
        stats = server.ingest_stats(api_key)
    per_minute = _per_minute(samples, opts.sample_seconds)
    for s in samples:
        s.pop("latencies_ms", None)
    rss = [s["rss_mb"] for s in samples]
    return {"seconds": opts.soak_seconds, "sample_seconds": opts.sample_seconds,
            "target_events_per_s": round(events_per_s, 1), "load": result.as_dict(),
            "rss_mb": {"first": rss[0], "last": rss[-1], "max": max(rss)},
            "stored_events": stats["since_start"]["stored"], "server_stats": stats["server"],
            "samples": samples, "per_minute": per_minute}


def _per_minute(samples: list[dict[str, Any]], sample_seconds: float) -> list[dict[str, Any]]:
    """Samples folded into minutes (the last one may be partial): RSS at its end, rate, latency."""
    rows: list[dict[str, Any]] = []
    for minute in range(int(np.ceil(max(s["t"] for s in samples) / 60)) or 1):
        inside = [s for s in samples[1:] if minute * 60 < s["t"] <= (minute + 1) * 60]
        if not inside:
            continue
        lat = np.concatenate([s["latencies_ms"] for s in inside])
        rows.append({"minute": minute + 1, "rss_mb": inside[-1]["rss_mb"],
                     "events_per_s": sum(s["acknowledged_events"] for s in inside)
                     / (len(inside) * sample_seconds),
                     "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
                     "p99_ms": float(np.percentile(lat, 99)) if lat.size else None})
    return rows

