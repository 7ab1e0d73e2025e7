"""``python -m bench.ingest [--seconds S] [--soak-seconds S] [--connections N] [--batch-size N]``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from bench.ingest import phases, report

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30,
                        help="measured seconds of each throughput and latency run (default 30)")
    parser.add_argument("--soak-seconds", type=float, default=600,
                        help="length of the memory soak at half the durable rate; 0 skips it (default 600)")
    parser.add_argument("--connections", type=int, default=128,
                        help="keep-alive connections of the load generator (default 128)")
    parser.add_argument("--batch-size", type=int, default=100, help="events per request (default 100)")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds before each run")
    parser.add_argument("--sample-seconds", type=float, default=5, help="RSS sampling period of the soak")
    parser.add_argument("--templates", type=int, default=1000,
                        help="distinct pre-built requests the generator cycles through")
    parser.add_argument("--users", type=int, default=100_000, help="size of the distinct_id pool")
    parser.add_argument("--load-fraction", type=float, default=0.5,
                        help="open-loop load as a fraction of the measured durable rate (default 0.5)")
    parser.add_argument("--dir", type=Path, default=ROOT / "bench" / "data",
                        help="where the runs' stores are made (removed afterwards unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the stores and server logs")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = phases.Options(seconds=args.seconds, soak_seconds=args.soak_seconds,
                             connections=args.connections, batch_size=args.batch_size, warmup=args.warmup,
                             sample_seconds=args.sample_seconds, templates=args.templates, users=args.users)
    args.dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ingest-", dir=args.dir))
    results: dict = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "system": platform.system()},
        "options": {k: v for k, v in vars(args).items() if k not in ("dir", "results", "keep")},
    }
    workspace = phases.Workspace(workdir, options)
    try:
        say(f"1/4 ceiling: --benchmark-discard, {args.connections} connections, {args.seconds:g} s")
        results["ceiling"] = phases.closed(workspace, "ceiling", discard=True)
        say(f"    {results['ceiling']['events_per_s']:,.0f} events/s")
        say(f"2/4 durable: closed loop, {args.connections} connections, {args.seconds:g} s")
        results["durable"] = phases.closed(workspace, "durable", discard=False)
        durable = results["durable"]["events_per_s"]
        say(f"    {durable:,.0f} events/s")
        results["ratio_durable_to_ceiling"] = round(durable / results["ceiling"]["events_per_s"], 3)
        target = durable * args.load_fraction
        say(f"3/4 latency: open loop at {target:,.0f} events/s, {args.seconds:g} s")
        results["latency"] = phases.latency(workspace, target)
        lat = results["latency"]["latency_ms"]
        say(f"    p50 {lat['p50']} ms, p99 {lat['p99']} ms")
        if args.soak_seconds > 0:
            say(f"4/4 soak: open loop at {target:,.0f} events/s, {args.soak_seconds:g} s")
            results["soak"] = phases.soak(workspace, target)
            say(f"    RSS {results['soak']['rss_mb']}")
    finally:
        if args.keep:
            say(f"stores and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["targets"] = report.check_targets(results)
    path = report.write_json(results, args.results)
    print(report.markdown(results))
    say(f"\nresults: {path}")
    return 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
