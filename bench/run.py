"""``python -m bench.run --events 1000000 10000000``: yunying vs ClickHouse, side by side.

For each size: cached demo Parquet → loads (DuckDB CTAS baseline, yunying import, ClickHouse
insert; interleaved, each in a fresh process) → one long-lived worker per engine → per query a
warm-up on both (results compared exactly; a mismatch is printed and the run exits 1), then
``--reps`` timed runs interleaved A B, B A, … → medians, ratio, peak RSS. The largest size also
gets a profile of where yunying's time goes. Results: a table on the terminal and
``bench/results/<date>.md`` + ``.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.data import DATA_DIR, TIMEZONE, Dataset, dataset
from bench.engines import Measurement, Worker
from bench.loading import CH_PROJECT_ID, run_isolated
from bench.queries import QUERY_NAMES, Window, differences

STORES_DIR = DATA_DIR / "stores"
LOADERS = ("duckdb_ctas", "yunying_import", "clickhouse_insert")


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000],
                    help="dataset sizes (events), e.g. 1000000 10000000")
    ap.add_argument("--reps", type=int, default=5, help="timed runs per query and engine")
    ap.add_argument("--load-reps", type=int, default=2, help="timed loads per loader and size")
    ap.add_argument("--queries", nargs="+", choices=QUERY_NAMES, default=list(QUERY_NAMES))
    ap.add_argument("--seed", type=int, default=2026, help="demo generator seed")
    ap.add_argument("--keep-data", action="store_true",
                    help="keep the loaded stores in bench/data/stores "
                         "(the Parquet cache is always kept)")
    ap.add_argument("--no-profile", action="store_true", help="skip the yunying profile")
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------ loading
def measure_loads(ds: Dataset, reps: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Every loader ``reps`` times, rotating the order; the last load of each is kept."""
    STORES_DIR.mkdir(parents=True, exist_ok=True)
    targets = {
        "duckdb_ctas": str(STORES_DIR / f"ctas_{ds.label}.duckdb"),
        "yunying_import": str(STORES_DIR / f"yunying_{ds.label}.duckdb"),
        "clickhouse_insert": str(STORES_DIR / f"clickhouse_{ds.label}"),
    }
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in LOADERS}
    for rep in range(reps):
        order = LOADERS[rep % 3:] + LOADERS[: rep % 3]
        for loader in order:
            out = run_isolated(loader, ds.path, targets[loader])
            runs[loader].append(out)
            log(f"  load {rep + 1}/{reps} {loader}: {out['seconds']:.2f} s"
                + (f" (+ OPTIMIZE FINAL {out['optimize_seconds']:.2f} s)"
                   if "optimize_seconds" in out else ""))
    loads: dict[str, Any] = {}
    for loader, outs in runs.items():
        loads[loader] = {"runs": [o["seconds"] for o in outs],
                         "median": statistics.median(o["seconds"] for o in outs),
                         "peak_rss": max(o["peak_rss"] for o in outs), "last": outs[-1]}
        if loader == "clickhouse_insert":
            optimize = [o["optimize_seconds"] for o in outs]
            loads[loader]["optimize_median"] = statistics.median(optimize)
    _check_loaded_rows(ds, loads)
    _remove_store(targets["duckdb_ctas"])
    return loads, targets


def _check_loaded_rows(ds: Dataset, loads: dict[str, Any]) -> None:
    for loader, out in loads.items():
        if out["last"]["rows"] != ds.rows:
            raise SystemExit(f"MISMATCH: {loader} loaded {out['last']['rows']:,} rows, "
                             f"the file has {ds.rows:,}")
    if loads["yunying_import"]["last"]["project_id"] != CH_PROJECT_ID:
        raise SystemExit("yunying import did not create project id 1")


def _remove_store(target: str) -> None:
    path = Path(target)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ queries
def _summary(ms: list[Measurement]) -> dict[str, Any]:
    return {"runs": [m.seconds for m in ms], "median": statistics.median(m.seconds for m in ms),
            "peak_rss": max(m.peak_rss for m in ms)}


def bench_query(name: str, yunying: Worker, clickhouse: Worker, window: Window,
                reps: int) -> dict[str, Any]:
    """Warm-up on both (compared exactly), then ``reps`` interleaved timed runs."""
    warm_y = yunying.query(name, window, keep=True)
    warm_c = clickhouse.query(name, window, keep=True)
    assert warm_y.result is not None and warm_c.result is not None
    diff = differences(warm_y.result, warm_c.result)
    timed: dict[str, list[Measurement]] = {"yunying": [], "clickhouse": []}
    for rep in range(reps):
        pair = (yunying, clickhouse) if rep % 2 == 0 else (clickhouse, yunying)
        for worker in pair:
            key = "yunying" if worker is yunying else "clickhouse"
            timed[key].append(worker.query(name, window))
    out = {key: _summary(ms) for key, ms in timed.items()}
    out["warmup"] = {"yunying": warm_y.seconds, "clickhouse": warm_c.seconds}
    out["agree"] = not diff
    out["differences"] = diff
    out["result"] = warm_y.result if len(warm_y.result) <= 12 else f"{len(warm_y.result)} rows"
    return out


def _log_query(label: str, name: str, q: dict[str, Any]) -> None:
    y, c = q["yunying"]["median"], q["clickhouse"]["median"]
    log(f"  {name:9s} {label:>4s}: yunying {report.fmt_seconds(y):>8s}  ClickHouse "
        f"{report.fmt_seconds(c):>8s}  ratio {y / c:.2f}  agree {'yes' if q['agree'] else 'NO'}")
    if not q["agree"]:
        log(f"  !!! MISMATCH in {name} at {label}:")
        for line in q["differences"]:
            log(f"  !!!   {line}")


def bench_size(ds: Dataset, args: argparse.Namespace, profile: bool) -> dict[str, Any]:
    log(f"== {ds.label}: {ds.rows:,} events, {ds.users:,} users, {ds.date_from} .. {ds.date_to}")
    loads, targets = measure_loads(ds, args.load_reps)
    window = Window(ds.date_from, ds.date_to, TIMEZONE, CH_PROJECT_ID)
    size: dict[str, Any] = {"label": ds.label, "dataset": ds.__dict__, "window": window.__dict__,
                            "loads": loads, "queries": {}}
    with Worker("yunying", targets["yunying_import"]) as y, \
            Worker("clickhouse", targets["clickhouse_insert"]) as c:
        size["versions"] = {"yunying": y.version, "clickhouse": c.version}
        for name in args.queries:
            size["queries"][name] = bench_query(name, y, c, window, args.reps)
            _log_query(ds.label, name, size["queries"][name])
        if profile:
            log(f"  profiling yunying at {ds.label} …")
            size["profile"] = y.call("profile", window)
    if not args.keep_data:
        for key in ("yunying_import", "clickhouse_insert"):
            _remove_store(targets[key])
    return size


def _machine() -> str:
    try:
        pages = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory = f", {pages / 1024**3:.0f} GiB RAM"
    except (ValueError, OSError):
        memory = ""
    return f"{os.cpu_count()} cores{memory}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    datasets = [dataset(n, args.seed, log) for n in args.events]
    largest = max(ds.events for ds in datasets)
    results: dict[str, Any] = {"started": started, "machine": _machine(), "reps": args.reps,
                               "load_reps": args.load_reps, "sizes": []}
    for ds in datasets:
        wants_profile = not args.no_profile and ds.events == largest and "funnel" in args.queries
        size = bench_size(ds, args, wants_profile and set(args.queries) == set(QUERY_NAMES))
        if "profile" in size:
            results["profile"] = {"label": ds.label, "data": size.pop("profile")}
        results["versions"] = size.pop("versions")
        results["sizes"].append(size)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report.print_rich(results)
    md, js = report.write(results)
    shown = md.relative_to(Path.cwd()) if md.is_relative_to(Path.cwd()) else md
    log(f"written: {shown} and {js.name}")
    bad = [f"{s['label']} {n}" for s in results["sizes"] for n, q in s["queries"].items()
           if not q["agree"]]
    if bad:
        log("!!! RESULTS DIFFER between yunying and ClickHouse: " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
