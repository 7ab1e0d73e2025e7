"""The experiment benchmark's peer: the analysis as GrowthBook runs it — SQL in the warehouse —
on ClickHouse (chdb), for the goal configuration of ``bench/experiments.py``.

1. The store's events of the project, exported once to Parquet (``timestamp[us, UTC]``) next to
   the store, then loaded once into a chdb MergeTree table (kept in ``bench/data/``).
2. One SQL statement computes, per arm, every sufficient statistic ``yunying.experiments``
   computes for that configuration (docs/experiments.md): users, Σx, Σx², the CUPED pre-period
   sums and cross sums, the ratio's cross sum, the percentile caps over all included users.
3. :func:`statistics_from_clickhouse` and :func:`statistics_from_yunying` put both sides in one
   flat form; :func:`differences` compares them (integers exactly, floats to 1e-9 relative).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import memory
from bench.engines import ProcessWorker

TABLE = "events"
# Sorted for the questions an analysis asks: by event name first (every CTE names its events),
# the UTC day next (date ranges prune granules), then the user (a user's rows of one day and
# event are adjacent) and the time. Monthly partitions as PostHog's events table.
CH_LAYOUT = "PARTITION BY toYYYYMM(timestamp) ORDER BY (event, toDate(timestamp), person_id, timestamp)"
CH_DDL = f"""CREATE TABLE {TABLE} (
    uuid String, event LowCardinality(String), distinct_id String, person_id Int64,
    timestamp DateTime64(6, 'UTC'), properties String
) ENGINE = MergeTree {CH_LAYOUT}"""


def log(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------ the data
def _stamp(path: Path) -> dict[str, Any]:
    """What tells a rebuilt store from the one a cache was made from."""
    found = path.stat()
    return {"bytes": found.st_size, "modified": found.st_mtime_ns}


def parquet_path(store: str | Path) -> Path:
    path = Path(store).resolve()
    return path.with_name(path.stem + ".events.parquet")


def clickhouse_path(store: str | Path) -> Path:
    path = Path(store).resolve()
    return path.with_name(path.stem + ".clickhouse")


def export_events(store: str | Path, project: str) -> dict[str, Any]:
    """The project's events as Parquet (cached: done once per store); its description."""
    import duckdb

    target = parquet_path(store)
    ready = target.with_suffix(".ready.json")
    made_from = _stamp(Path(store))
    if ready.exists() and target.exists():
        info: dict[str, Any] = json.loads(ready.read_text())
        if info.get("store") == made_from:
            return info
    log(f"exporting the events of {Path(store).name} to {target.name} (once) …")
    started = time.perf_counter()
    partial = target.with_suffix(".partial")
    con = duckdb.connect(str(store), read_only=True)
    con.execute("SET TimeZone = 'UTC'")  # naive store timestamps mean UTC; written as UTC instants
    con.execute("SET enable_progress_bar = false")
    found = con.execute("SELECT project_id FROM projects WHERE name = ?", [project]).fetchone()
    if found is None:
        raise SystemExit(f"no project {project!r} in {store}")
    con.execute(
        f"COPY (SELECT uuid, event, distinct_id, person_id, CAST(timestamp AS TIMESTAMPTZ) AS timestamp, "
        f"properties FROM events WHERE project_id = {int(found[0])}) "
        f"TO '{partial}' (FORMAT parquet, COMPRESSION zstd)")
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{partial}')").fetchone()
    con.close()
    partial.rename(target)
    info = {"path": str(target), "rows": rows[0] if rows else 0, "bytes": target.stat().st_size,
            "export_seconds": round(time.perf_counter() - started, 1), "store": made_from}
    ready.write_text(json.dumps(info, indent=2))
    return info


def _load(parquet: str, target: str) -> dict[str, Any]:
    from chdb import session

    sess = session.Session(target)
    sess.query(CH_DDL)
    started = time.perf_counter()
    sess.query(f"INSERT INTO {TABLE} SELECT uuid, event, distinct_id, person_id, timestamp, properties "
               f"FROM file('{parquet}', Parquet)")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    sess.query(f"OPTIMIZE TABLE {TABLE} FINAL")
    optimize = time.perf_counter() - started
    rows, size = sess.query(f"SELECT sum(rows), sum(bytes_on_disk) FROM system.parts "
                            f"WHERE table = '{TABLE}' AND active", "CSV").data().strip().split(",")
    sess.close()
    return {"rows": int(rows), "bytes": int(size), "insert_seconds": round(seconds, 1),
            "optimize_seconds": round(optimize, 1), "peak_rss_bytes": memory.peak_rss_bytes()}


def load_clickhouse(parquet: dict[str, Any], store: str | Path) -> dict[str, Any]:
    """The chdb database of the exported events (cached: loaded once, in a process of its own)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    target = clickhouse_path(store)
    ready = target.with_name(target.name + ".ready.json")
    if ready.exists() and target.is_dir():
        info: dict[str, Any] = json.loads(ready.read_text())
        if info.get("parquet") == parquet:
            return info
    shutil.rmtree(target, ignore_errors=True)
    log(f"loading {Path(parquet['path']).name} into ClickHouse ({target.name}, once) …")
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        info = pool.submit(_load, parquet["path"], str(target)).result()
    if info["rows"] != parquet["rows"]:
        raise SystemExit(f"ClickHouse loaded {info['rows']:,} rows, the export has {parquet['rows']:,}")
    info["path"] = str(target)
    info["parquet"] = parquet
    ready.write_text(json.dumps(info, indent=2))
    return info


# ------------------------------------------------------------------------------ the SQL
def _text(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _name(value: str) -> str:
    """A ClickHouse identifier (a tuple element named after a JSON key)."""
    return "`" + value.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _utc(day: dt.date, timezone: str) -> str:
    """The instant local ``day`` begins, as a ClickHouse DateTime64 in UTC."""
    instant = dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).astimezone(dt.UTC)
    return f"toDateTime64('{instant:%Y-%m-%d %H:%M:%S}', 6, 'UTC')"


def goal_sql(experiment: dict[str, Any], timezone: str) -> str:
    """One ClickHouse statement: the goal configuration's per-arm sufficient statistics.

    The configuration is one exposure-event experiment with a conversion (with or without a
    window), a sum capped at a percentile and a ratio of that sum over a count of events, CUPED
    on (docs/experiments.md). Written the way GrowthBook's SQL is: an exposure CTE (first
    exposure, the variants seen), a fact CTE of the metric events from the pre-period start to
    the end, the exposed users LEFT JOINed to their facts with the window conditions, one row per
    user, the caps over all included users, then per-arm sums. Output: one row per ``cell`` (0:
    users excluded for seeing several variants, i: the i-th variant), every column a sum.
    """
    from yunying.experiments import parse_experiment
    from yunying.experiments.definition import (
        ConversionMetric,
        ExposureEventAssignment,
        RatioMetric,
        SumMetric,
    )

    e = parse_experiment(experiment)
    rule, metrics = e.assignment, [m for _, m in e.metrics.all()]
    shape = ([type(m) for m in metrics] == [ConversionMetric, SumMetric, RatioMetric]
             and isinstance(rule, ExposureEventAssignment) and rule.experiment_property is not None
             and not rule.filters and e.analysis.cuped)
    if not shape:
        raise ValueError("the ClickHouse peer covers the goal configuration only "
                         "(exposure event; conversion, capped sum, ratio; CUPED on)")
    assert isinstance(rule, ExposureEventAssignment) and rule.experiment_property is not None
    conversion, revenue, ratio = metrics
    assert (isinstance(conversion, ConversionMetric) and isinstance(revenue, SumMetric)
            and isinstance(ratio, RatioMetric))
    if (revenue.capping is None or revenue.capping.percentile is None or revenue.window
            or ratio.window or ratio.capping is not None or ratio.numerator.aggregation != "sum"
            or ratio.denominator.aggregation != "count"
            or (ratio.numerator.event, ratio.numerator.property) != (revenue.event, revenue.property)
            or any(m.filters for m in (conversion, revenue, ratio.numerator, ratio.denominator))):
        raise ValueError("the ClickHouse peer's ratio is the capped sum's events over a count, "
                         "neither with a window, filters or a cap of its own")
    start = _utc(e.start, timezone)
    end = _utc((e.end or e.start) + dt.timedelta(days=1), timezone)
    pre_start = _utc(e.start - dt.timedelta(days=e.analysis.pre_period_days), timezone)
    variants = ", ".join(_text(v.exposure_value) for v in e.variants)
    flag = (f"JSONExtract(properties, 'Tuple({_name(rule.experiment_property)} Nullable(String), "
            f"{_name(rule.variant_property)} Nullable(String))')")
    events = list(dict.fromkeys([conversion.event, revenue.event, ratio.denominator.event]))
    is_event = {name: f"e{i}" for i, name in enumerate(events)}
    window = ("" if conversion.window_seconds is None
              else f" AND ts <= first_exposure + INTERVAL {conversion.window_seconds} SECOND")
    c, r, s = is_event[conversion.event], is_event[revenue.event], is_event[ratio.denominator.event]
    p = revenue.capping.percentile
    return f"""WITH
exposures AS (
  SELECT person_id, timestamp, {flag} AS flag, indexOf([{variants}], flag.2) AS arm
  FROM {TABLE}
  WHERE event = {_text(rule.event)} AND timestamp >= {start} AND timestamp < {end}
    AND flag.1 = {_text(e.experiment_value)} AND arm > 0
),
units AS (
  SELECT person_id, min(timestamp) AS first_exposure, if(min(arm) = max(arm), min(arm), 0) AS cell
  FROM exposures
  GROUP BY person_id
),
facts AS (
  SELECT person_id, timestamp,
    {", ".join(f"event = {_text(name)} AS {column}" for name, column in is_event.items())},
    if({r}, JSONExtractFloat(properties, {_text(revenue.property)}), 0) AS amount
  FROM {TABLE}
  WHERE event IN ({", ".join(_text(name) for name in events)})
    AND timestamp >= {pre_start} AND timestamp < {end}
),
per_user AS MATERIALIZED (
  SELECT person_id, cell,
    max({c} AND after{window}) AS conversion,
    sum(if({r} AND after, amount, 0)) AS revenue,
    sum({s} AND after) AS sessions,
    max({c} AND before) AS conversion_pre,
    sum(if({r} AND before, amount, 0)) AS revenue_pre
  FROM (
    SELECT u.person_id AS person_id, u.cell AS cell, u.first_exposure AS first_exposure,
      f.timestamp AS ts, {", ".join(f"f.{col} AS {col}" for col in is_event.values())}, f.amount AS amount,
      ts >= first_exposure AS after, ts < {start} AS before
    FROM units AS u LEFT JOIN facts AS f ON f.person_id = u.person_id
    -- a user without facts: one row of default values (e0 … false), which adds nothing
  )
  GROUP BY person_id, cell
),
caps AS (
  SELECT quantileExactInclusiveIf({p})(revenue, cell > 0) AS cap,
         quantileExactInclusiveIf({p})(revenue_pre, cell > 0) AS pre_cap
  FROM per_user
)
SELECT cell, count() AS users, any(cap) AS revenue_cap, any(pre_cap) AS revenue_pre_cap,
  sum(conversion) AS conversion_sum, sum(conversion_pre) AS conversion_pre_sum,
  sum(conversion * conversion_pre) AS conversion_cross,
  sum(least(revenue, cap)) AS revenue_sum, sum(pow(least(revenue, cap), 2)) AS revenue_squares,
  sum(least(revenue_pre, pre_cap)) AS revenue_pre_sum,
  sum(pow(least(revenue_pre, pre_cap), 2)) AS revenue_pre_squares,
  sum(least(revenue, cap) * least(revenue_pre, pre_cap)) AS revenue_cross,
  sum(revenue) AS numerator_sum, sum(revenue * revenue) AS numerator_squares,
  sum(sessions) AS denominator_sum, sum(sessions * sessions) AS denominator_squares,
  sum(revenue * sessions) AS ratio_cross
FROM per_user CROSS JOIN caps
GROUP BY cell
ORDER BY cell
SETTINGS enable_materialized_cte = 1
"""


# ------------------------------------------------------------------------------ both sides, one form
Flat = dict[str, Any]  # "control.revenue.post.sum" -> number (int: an integer by definition)


def statistics_from_clickhouse(rows: list[dict[str, Any]], experiment: dict[str, Any]) -> Flat:
    """The peer's rows in :func:`statistics_from_yunying`'s form (sums of counts stay integers)."""
    from yunying.experiments import parse_experiment

    e = parse_experiment(experiment)
    conversion, revenue, ratio = (m.key for _, m in e.metrics.all())
    by_cell = {int(row["cell"]): row for row in rows}
    out: Flat = {"excluded_users": int(by_cell.get(0, {}).get("users", 0))}
    caps = [row["revenue_cap"] for cell, row in by_cell.items() if cell > 0]
    out[f"cap.{revenue}"] = float(caps[0]) if caps else math.nan
    for i, variant in enumerate(e.variants, start=1):
        row = by_cell.get(i, {})

        def get(column: str, kind: type = float, row: dict[str, Any] = row) -> Any:
            return kind(row.get(column, 0))

        n = get("users", int)
        arm = {
            "users": n,
            conversion: {"type": "Adjusted", "post": {"n": n, "sum": get("conversion_sum", int)},
                         "pre": {"n": n, "sum": get("conversion_pre_sum", int)},
                         "sum_products": get("conversion_cross", int)},
            revenue: {"type": "Adjusted",
                      "post": {"n": n, "sum": get("revenue_sum"), "sum_squares": get("revenue_squares")},
                      "pre": {"n": n, "sum": get("revenue_pre_sum"),
                              "sum_squares": get("revenue_pre_squares")},
                      "sum_products": get("revenue_cross")},
            ratio: {"type": "Ratio",
                    "numerator": {"n": n, "sum": get("numerator_sum"),
                                  "sum_squares": get("numerator_squares")},
                    "denominator": {"n": n, "sum": get("denominator_sum", int),
                                    "sum_squares": get("denominator_squares", int)},
                    "sum_products": get("ratio_cross")},
        }
        out.update(_flatten(arm, variant.key))
    return out


def statistics_from_yunying(result: Any) -> Flat:
    """An ``ExperimentResult``'s overall numbers (its ``statistics`` are ``experiment_data``'s)."""
    out: Flat = {"excluded_users": result.excluded_users}
    for metric in result.metrics:
        if metric.cap is not None:
            out[f"cap.{metric.key}"] = metric.cap
    for i, arm in enumerate(result.arms):
        tree: dict[str, Any] = {"users": arm.users}
        for metric in result.metrics:
            tree[metric.key] = metric.statistics[i]
        out.update(_flatten(tree, arm.variant))
    return out


def _flatten(tree: dict[str, Any], prefix: str) -> Flat:
    out: Flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}.{key}"))
        else:
            out[f"{prefix}.{key}"] = value
    return out


RELATIVE = 1e-9


def differences(yunying: Flat, clickhouse: Flat) -> list[str]:
    """Every number that differs: the peer's integers exactly, its floats to 1e-9 relative."""
    out = []
    for key in sorted(set(yunying) | set(clickhouse)):
        if key not in yunying or key not in clickhouse:
            out.append(f"{key}: only in {'yunying' if key in yunying else 'ClickHouse'}")
            continue
        a, b = yunying[key], clickhouse[key]
        if isinstance(b, str | int):
            same = a == b
        else:
            same = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= RELATIVE * max(abs(a), abs(b))
        if not same:
            out.append(f"{key}: yunying {a!r}, ClickHouse {b!r}")
    return out


# ------------------------------------------------------------------------------ the engines
class ClickHouseRunner:
    """chdb in this process: the database opened once, :meth:`run` times one statement."""

    name = "clickhouse"

    def __init__(self, location: str, experiment: dict[str, Any], timezone: str) -> None:
        opened = time.perf_counter()
        from chdb import session

        self.session = session.Session(location)
        self.open_seconds = time.perf_counter() - opened
        self.experiment = experiment
        self.sql = goal_sql(experiment, timezone)

    def version(self) -> str:
        from importlib.metadata import version

        found = self.session.query("SELECT version()", "CSV").data().strip().strip('"')
        return f"chdb {version('chdb')}, ClickHouse {found}"

    def run(self) -> dict[str, Any]:
        memory.reset_peak()
        started = time.perf_counter()
        table = self.session.query(self.sql, "ArrowTable")  # the timed region: the query, fetched
        seconds = time.perf_counter() - started
        peak = memory.peak_rss_bytes()
        return {"seconds": seconds, "peak_rss_bytes": peak,
                "statistics": statistics_from_clickhouse(table.to_pylist(), self.experiment)}


def _runner(kind: str, args: tuple[Any, ...]) -> Any:
    if kind == "clickhouse":
        return ClickHouseRunner(*args)
    from bench.experiments import YunyingRunner  # bench.experiments imports this module

    return YunyingRunner(*args)


def _serve(kind: str, args: tuple[Any, ...], conn: Any) -> None:
    """The worker process (``bench.engines.ProcessWorker``'s protocol): open, then ``run`` until ``stop``."""
    import traceback

    try:
        runner = _runner(kind, args)
        conn.send(("ok", {"version": runner.version(), "open_seconds": runner.open_seconds}))
    except Exception:  # noqa: BLE001 - reported to the driver
        conn.send(("error", traceback.format_exc()))
        return
    while conn.recv()[0] == "run":
        try:
            conn.send(("ok", runner.run()))
        except Exception:  # noqa: BLE001 - reported to the driver
            conn.send(("error", traceback.format_exc()))
    conn.send(("ok", None))


class Worker(ProcessWorker):
    """One engine in a fresh process of its own (spawned, so nothing is inherited)."""

    def __init__(self, kind: str, *args: Any) -> None:
        super().__init__(_serve, kind, args)

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("run")
        return result


def prepare(store: dict[str, Any], project: str) -> dict[str, Any]:
    """The peer's data (export and load, each once): its description."""
    exported = export_events(store["path"], project)
    return {"parquet": exported, "clickhouse": load_clickhouse(exported, store["path"])}


def side_by_side(store: str, location: str, configuration: str, experiment: dict[str, Any],
                 timezone: str, reps: int, rounds: int) -> dict[str, Any]:
    """``rounds`` × (a fresh process per engine: a first run each, then ``reps`` warm runs each,
    interleaved yunying, ClickHouse, then ClickHouse, yunying, …; the first runs' order
    alternates by round). Every run's statistics are compared with yunying's first."""
    out: dict[str, Any] = {"configuration": configuration, "reps": reps, "rounds": rounds,
                           "load_before": os.getloadavg()[0], "rounds_data": [],
                           "sql": goal_sql(experiment, timezone)}
    reference: Flat | None = None
    problems: list[str] = []
    for r in range(rounds):
        with Worker("yunying", store, configuration) as y, \
                Worker("clickhouse", location, experiment, timezone) as c:
            out["versions"] = {"yunying": y.opened["version"], "clickhouse": c.opened["version"]}
            runs: dict[str, list[dict[str, Any]]] = {"yunying": [], "clickhouse": []}
            previous = None
            for rep in range(reps + 1):
                for worker in ((y, c) if (rep + r) % 2 == 0 else (c, y)):
                    run = worker.run()
                    run["after"], previous = previous, worker.kind  # whose run came just before
                    if reference is None:  # yunying's first run: the numbers to agree with
                        reference = run["statistics"]
                        out["statistics"] = {"yunying": reference}
                    if worker is c and "clickhouse" not in out["statistics"]:
                        out["statistics"]["clickhouse"] = run["statistics"]
                    found = differences(reference, run["statistics"])
                    problems += [f"round {r + 1}, {worker.kind} run {rep + 1}: {d}" for d in found]
                    run.pop("statistics")
                    runs[worker.kind].append(run)
                    log(f"  round {r + 1}/{rounds}, {'first run' if rep == 0 else f'warm {rep}/{reps}'}, "
                        f"{worker.kind}: {run['seconds']:.2f} s")
            out["rounds_data"].append({kind: {"open_seconds": w.opened["open_seconds"], "runs": runs[kind]}
                                       for kind, w in (("yunying", y), ("clickhouse", c))})
    out["load_after"] = os.getloadavg()[0]
    out["agree"] = not problems
    out["differences"] = problems[:50]
    out["compared"] = sum(not isinstance(v, str) for v in (reference or {}).values())
    return out


def summary(peer: dict[str, Any]) -> dict[str, Any]:
    """Per engine: first runs, warm runs (all rounds), their medians and the peak RSS; the ratios."""
    out: dict[str, Any] = {}
    for kind in ("yunying", "clickhouse"):
        rounds = [r[kind] for r in peer["rounds_data"]]
        first = [r["runs"][0]["seconds"] for r in rounds]
        warm = [run["seconds"] for r in rounds for run in r["runs"][1:]]
        after = {who: [run["seconds"] for r in rounds for run in r["runs"][1:] if run["after"] == who]
                 for who in ("yunying", "clickhouse")}
        out[kind] = {"first": first, "warm": warm, "first_median": statistics.median(first),
                     "warm_median": statistics.median(warm) if warm else math.nan,
                     "warm_after_median": {who: statistics.median(t) if t else math.nan
                                           for who, t in after.items()},
                     "open": [r["open_seconds"] for r in rounds],
                     "peak_rss_bytes": max(run["peak_rss_bytes"] for r in rounds for run in r["runs"])}
    y, c = out["yunying"], out["clickhouse"]
    out["ratio"] = {"first": y["first_median"] / c["first_median"],
                    "warm": y["warm_median"] / c["warm_median"]}
    return out


def markdown(peer: dict[str, Any]) -> list[str]:
    """The side-by-side section of the results page (no timings when the statistics disagree)."""
    versions = peer.get("versions", {})
    lines = [f"## Side by side with ClickHouse: {peer['configuration']}", "",
             f"yunying: {versions.get('yunying')}; ClickHouse: {versions.get('clickhouse')}, table "
             f"`{CH_LAYOUT}`. {peer['rounds']} round(s), each a fresh process per engine: a first "
             f"run, then {peer['reps']} warm runs, interleaved. Load before: {peer['load_before']:.2f}, "
             f"after: {peer['load_after']:.2f}.", ""]
    if not peer["agree"]:
        lines += ["**MISMATCH**: the engines' statistics differ, so no timing is reported.", ""]
        lines += [f"* {line}" for line in peer["differences"]]
        return lines
    s = peer["summary"]
    lines += ["| engine | first run (s), median (range) | warm median (s) | warm min–max (s) "
              "| warm after its own run / after the other's (s) | peak RSS (MiB) | open (s) |",
              "|---|---|---|---|---|---|---|"]
    for kind, label, other in (("yunying", "yunying", "clickhouse"), ("clickhouse", "ClickHouse", "yunying")):
        e = s[kind]
        split = e["warm_after_median"]
        lines.append(f"| {label} | {e['first_median']:.2f} ({min(e['first']):.2f}–{max(e['first']):.2f}) "
                     f"| {e['warm_median']:.2f} | {min(e['warm']):.2f}–{max(e['warm']):.2f} "
                     f"| {split[kind]:.2f} / {split[other]:.2f} "
                     f"| {e['peak_rss_bytes'] / 2**20:,.0f} | {statistics.median(e['open']):.2f} |")
    lines += [f"| **yunying ÷ ClickHouse** | **{s['ratio']['first']:.2f}** | **{s['ratio']['warm']:.2f}** "
              "| | | | |", "",
              f"Statistics: the {peer['compared']} numbers (users and excluded users, the cap, every "
              "sum of every arm) and the kinds of statistic agree in every run of both engines — "
              "integers exactly, floats to 1e-9 relative. The ClickHouse statement:", "",
              "```sql", peer["sql"].rstrip(), "```"]
    return lines
