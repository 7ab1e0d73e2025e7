"""``python -m bench.pages``: server time of every workbench page, and insights at 10M events.

Goals (issue "web workbench"): every page of the demo answers in < 300 ms server time at 2M
demo events; every insight runs in < 1 s at 10M events.

1. A demo store of ``--events`` events (what ``yunying demo --events N`` builds) plus the demo
   workbench (login, settings, a dashboard of 7 tiles), built once in a fresh process and kept
   in ``bench/data/stores/``.
2. The pages, in process: Starlette's TestClient over ``yunying.web.create_app(store)``. The
   ``Server-Timing: app;dur=`` header (measured inside the app) is the number that counts; the
   client's wall time is reported beside it. Three views of each page:

   * *after start* — a fresh process (new DuckDB instance, empty buffer pool, no template
     compiled yet): the store opened, the app created, signed in, then every page once in the
     order a user opens them;
   * *cold* — a fresh app per request (empty result cache) with the in-process caches of the
     catalog and the event-name list emptied, in a process that has served every page before
     (``--cold-reps`` times, median and minimum);
   * *warm* — one app, every page and its JSON twin ``--reps`` times after a warm-up pass
     (median and minimum).

   Each request is split into where its server time went: insight queries, catalog lookups,
   other DuckDB reads (by the function that asked), the meta tables (sessions, settings,
   dashboards), charts and tables built from a result, the template, JSON encoding, and the
   rest — measured by wrapping those functions in this process (exclusive times).
3. Insights at ``--insight-events`` (the cached Parquet of bench/data imported once into a
   store): ``run_query`` of each kind over the last 30 days (the overview over 7, as its page),
   each kind in a fresh process: the first run after opening the store, then ``--insight-reps``
   warm runs.

Results: a table on the terminal and ``bench/results/pages-<date>.md`` + ``.json``. The exit
status is 0 whatever the numbers (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import memory
from bench.data import DATA_DIR, dataset, size_label

STORES_DIR = DATA_DIR / "stores"
PAGE_GOAL_MS = 300.0
INSIGHT_GOAL_S = 1.0
PROJECT = "demo"
INSIGHT_PROJECT = "bench"  # bench.loading imports into this project
BASE_URL = "http://127.0.0.1:8000"
FUNNEL = ("app_open", "view_product", "add_to_cart", "checkout", "pay")
SQL = "SELECT event, count(*) AS events, count(DISTINCT person_id) AS users\nFROM events\nGROUP BY event\n" \
      "ORDER BY events DESC"
_TIMING = re.compile(r"app;dur=([0-9.]+)")
_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000, help="demo events of the page store")
    ap.add_argument("--insight-events", type=int, default=10_000_000,
                    help="events of the insight store (the cached Parquet of bench/data)")
    ap.add_argument("--reps", type=int, default=10, help="warm requests per page (median)")
    ap.add_argument("--cold-reps", type=int, default=3, help="cold requests per page, each on a fresh app")
    ap.add_argument("--insight-reps", type=int, default=5, help="warm runs per insight at --insight-events")
    ap.add_argument("--seed", type=int, default=2026, help="demo generator seed")
    ap.add_argument("--skip-insights", action="store_true", help="only the pages")
    ap.add_argument("--skip-pages", action="store_true", help="only the insights")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    return ap.parse_args(argv)


# ============================================================================== stores
def _remove_store(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def build_demo_store(path: str, events: int, seed: int) -> dict[str, Any]:
    """(In a fresh process.) The demo store as ``yunying demo --events N`` builds it, plus the
    demo workbench; checkpointed so that opening it replays no log."""
    from yunying.demo import build_demo_store as build
    from yunying.demo import demo_config, generate_demo
    from yunying.demo.workbench import setup_workbench
    from yunying.store import connect

    target = Path(path)
    _remove_store(target)
    started = time.perf_counter()
    data = generate_demo(demo_config(events=events, seed=seed))
    generated = time.perf_counter() - started
    store = connect(target)
    try:
        result = build(store, data)
        bench = setup_workbench(store, data.truth["date_from"], data.truth["date_to"])
        store.duckdb.execute("CHECKPOINT")
    finally:
        store.close()
    return {"events": events, "seed": seed, "rows": result.inserted, "users": data.truth.get("users"),
            "date_from": data.truth["date_from"], "date_to": data.truth["date_to"],
            "dashboard_id": bench.dashboard_id, "generate_seconds": round(generated, 1),
            "build_seconds": round(time.perf_counter() - started, 1), "storage_bytes": target.stat().st_size}


def _in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def demo_store(events: int, seed: int, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """The cached demo store of ``events`` events (built first if missing)."""
    STORES_DIR.mkdir(parents=True, exist_ok=True)
    path = STORES_DIR / f"pages_demo_{size_label(events)}_seed{seed}.duckdb"
    marker = path.with_suffix(".ready.json")
    if path.exists() and marker.exists() and not rebuild:
        return path, json.loads(marker.read_text())
    marker.unlink(missing_ok=True)
    log(f"building the demo store of {events:,} events -> {path.name} (once; a few minutes)")
    info = _in_fresh_process(build_demo_store, str(path), events, seed)
    marker.write_text(json.dumps(info, indent=1))
    log(f"  {info['rows']:,} events, {info['date_from']} .. {info['date_to']}, "
        f"{info['storage_bytes'] / 1e6:.0f} MB in {info['build_seconds']:.0f} s")
    return path, info


def insight_store(events: int, seed: int, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """The cached Parquet of bench/data imported once (``yunying import``) into a store."""
    from bench.loading import run_isolated

    ds = dataset(events, seed, log)
    STORES_DIR.mkdir(parents=True, exist_ok=True)
    path = STORES_DIR / f"pages_insights_{ds.label}_seed{seed}.duckdb"
    marker = path.with_suffix(".ready.json")
    if path.exists() and marker.exists() and not rebuild:
        return path, json.loads(marker.read_text())
    marker.unlink(missing_ok=True)
    log(f"importing {ds.rows:,} events into {path.name} (once)")
    out = run_isolated("yunying_import", ds.path, str(path))
    info = {"events": events, "seed": seed, "rows": out["rows"], "users": ds.users,
            "project": INSIGHT_PROJECT,
            "date_from": ds.date_from, "date_to": ds.date_to, "import_seconds": round(out["seconds"], 1),
            "storage_bytes": out["storage_bytes"]}
    marker.write_text(json.dumps(info, indent=1))
    log(f"  imported in {out['seconds']:.0f} s")
    return path, info


# ============================================================================== where time goes
class Probe:
    """Exclusive time per label of the wrapped functions, summed over one request.

    A wrapped call inside another wrapped call is subtracted from the outer one, so the parts
    of a request add up to at most its server time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[str, float] = {}
        self._local = threading.local()

    def reset(self) -> None:
        with self._lock:
            self._parts = {}

    def take(self) -> dict[str, float]:
        with self._lock:
            parts, self._parts = self._parts, {}
        return {k: round(v * 1000, 2) for k, v in sorted(parts.items())}

    @contextmanager
    def section(self, label: str) -> Iterator[None]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        frame = [0.0]  # time spent in wrapped calls inside this one
        stack.append(frame)
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            stack.pop()
            if stack:
                stack[-1][0] += elapsed
            with self._lock:
                self._parts[label] = self._parts.get(label, 0.0) + elapsed - frame[0]


PROBE = Probe()
_HELPERS = {"call", "result", "run", "_read", "_run", "<lambda>", "wrapped"}


def _query_label(work: Any) -> str:
    """What a read-pool call is for: an insight, the catalog, the SQL console, or who asked."""
    names = set(getattr(getattr(work, "__code__", None), "co_names", ()))
    if "run_query" in names:
        return "insight"
    if names & {"catalog", "event_names", "property_keys", "property_values"}:
        return "catalog"
    if "run_sql" in names:
        return "sql"
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name in _HELPERS:
        frame = frame.f_back
    return "read:" + (frame.f_code.co_name if frame is not None else "?")


def _wrap(owner: Any, name: str, label: str | Callable[..., str]) -> None:
    original = getattr(owner, name)
    if getattr(original, "_bench_probe", False):
        return

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with PROBE.section(label if isinstance(label, str) else label(*args)):
            return original(*args, **kwargs)

    wrapped._bench_probe = True  # type: ignore[attr-defined]
    wrapped.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapped)


def instrument() -> None:
    """Wrap the read pool, the meta tables, chart/table building, templates and JSON encoding."""
    import importlib

    from yunying.store.meta import Meta
    from yunying.web import api
    from yunying.web.pages import framework

    _wrap(api.ReadPool, "call", lambda _self, work: _query_label(work))
    _wrap(Meta, "rows", "meta")
    _wrap(framework, "render", "render")
    _wrap(framework, "to_json_bytes", "json")
    for module_name, names in (("overview", ("figure",)), ("insights", ("figure", "result_table")),
                               ("dashboards", ("figure", "table", "display_table")),
                               ("users", ("activity_figure",))):
        try:
            module = importlib.import_module(f"yunying.web.pages.{module_name}")
        except ImportError:
            continue
        for name in names:
            if hasattr(module, name):
                _wrap(module, name, "chart+table")


def clear_process_caches() -> None:
    """Empty the in-process caches a fresh server starts without (catalog, event names)."""
    from yunying.insights import catalog

    catalog.clear_cache()
    try:
        from yunying.web.pages import events
    except ImportError:
        return
    cache = getattr(events, "_names_cache", None)
    if isinstance(cache, dict):
        cache.clear()


# ============================================================================== requests
@dataclass(frozen=True)
class Page:
    name: str
    path: str  # what the browser fetches (HTML; the JSON twin for a dashboard tile)
    twin: str | None  # the same data the other way (JSON twin of a page; HTML of a tile)
    group: str = "page"


@dataclass
class Sample:
    status: int
    server_ms: float | None
    wall_ms: float
    cpu_ms: float  # CPU time of the whole process (every thread) during the request
    parts: dict[str, float] = field(default_factory=dict)
    size: int = 0


def fetch(client: Any, path: str) -> Sample:
    PROBE.reset()
    cpu = time.process_time()
    started = time.perf_counter()
    answer = client.get(path, follow_redirects=False)
    wall = (time.perf_counter() - started) * 1000
    cpu = (time.process_time() - cpu) * 1000
    found = _TIMING.search(answer.headers.get("server-timing", ""))
    return Sample(answer.status_code, float(found.group(1)) if found else None, round(wall, 2),
                  round(cpu, 2), PROBE.take(), len(answer.content))


def sign_in(client: Any, login: str, password: str) -> None:
    form = client.get("/login")
    token = _LOGIN_CSRF.search(form.text)
    if token is None:
        raise RuntimeError(f"no login form at /login ({form.status_code})")
    answer = client.post("/login", data={"login": login, "password": password, "csrf_token": token.group(1),
                                         "next": "/"}, follow_redirects=False)
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in as {login!r} failed: {answer.status_code}")


@contextmanager
def app_client(store: Any) -> Iterator[Any]:
    """A signed-in TestClient of a fresh app over ``store``; the app's cursors closed after."""
    from starlette.testclient import TestClient

    from yunying.demo.workbench import DEMO_LOGIN, DEMO_PASSWORD
    from yunying.web import create_app

    app = create_app(store)
    try:
        with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
            sign_in(client, DEMO_LOGIN, DEMO_PASSWORD)
            yield client
    finally:
        _close_app(app)


def _close_app(app: Any) -> None:
    state = app.state.yunying
    try:
        state.meta.close()
        free = state.reads._free
        while not free.empty():
            free.get_nowait().close()
    except Exception:  # noqa: BLE001 - best effort: the process ends soon anyway
        pass


def builder_pages() -> list[Page]:
    """The builder of each kind, submitted (``run=1``), over the last 30 days."""
    base: list[tuple[str, str]] = [("run", "1"), ("range", "last_30d")]
    forms: dict[str, list[tuple[str, str]]] = {
        "trends": [("series_event", "$any"), ("series_math", "unique_users"), ("interval", "day"),
                   ("breakdown", "channel")],
        "funnel": [*(("step_event", e) for e in FUNNEL), ("window", "7d"), ("breakdown", "channel")],
        "retention": [("start_event", "app_open"), ("return_event", "$any"), ("period", "week"),
                      ("periods", "8")],
        "stickiness": [("event", "app_open"), ("interval", "day")],
        "lifecycle": [("event", "$any"), ("interval", "week")],
        "paths": [("event", "app_open"), ("direction", "after"), ("depth", "5")],
    }
    pages = []
    for kind, fields in forms.items():
        path = f"/p/{PROJECT}/insights/new?" + urlencode([("kind", kind), *base, *fields])
        pages.append(Page(f"builder: {kind}", path, "/api/v1" + path, "builder"))
    return pages


def _page(name: str, path: str, group: str = "page") -> Page:
    return Page(name, path, "/api/v1" + path, group)


def discover(store: Any) -> list[Page]:
    """Every page a user opens, in order; ids, tiles, an event and a user found on the pages."""
    from yunying.demo.model import DemoExperiment

    p = f"/p/{PROJECT}"
    experiment = DemoExperiment().key
    with app_client(store) as client:
        boards = client.get(f"/api/v1{p}/dashboards").json()["dashboards"]
        board = boards[0]["id"]
        tiles = client.get(f"/api/v1{p}/dashboards/{board}").json()["tiles"]
        listed = client.get(f"/api/v1{p}/events")
        event = user = None
        if listed.status_code == 200 and listed.json().get("events"):
            first = listed.json()["events"][0]
            event, user = first["url"], first["person_url"]
    pages = [_page("overview", f"{p}/"), _page("insights list", f"{p}/insights"), *builder_pages(),
             _page("dashboards list", f"{p}/dashboards"), _page("dashboard", f"{p}/dashboards/{board}")]
    for i, tile in enumerate(tiles, 1):
        pages.append(Page(f"tile {i}: {tile['kind']}", tile["src"], tile["page"], "tile"))
    pages.append(_page("events", f"{p}/events"))
    if event:
        pages.append(_page("one event", event))
    pages.append(_page("users", f"{p}/users"))
    if user:
        pages.append(_page("one user", user))
    pages += [_page("experiments list", f"{p}/experiments"),
              _page("experiment results", f"{p}/experiments/{experiment}"),
              _page("experiment by channel", f"{p}/experiments/{experiment}?breakdown=channel"),
              _page("A/B calculator", f"{p}/abtest?" + urlencode(
                  {"n0": 10000, "conv0": 1000, "n1": 10000, "conv1": 1120}))]
    pages += [_page("data", f"{p}/data"),
              _page("SQL console (GROUP BY)", f"{p}/sql?" + urlencode({"q": SQL})),
              _page("settings", f"{p}/settings")]
    return pages


# ============================================================================== the three views
def after_start(store_path: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """(In a fresh process.) Open the store, start the app, sign in, every page once in order."""
    import yunying.web  # noqa: F401 - imported before timing, as `yunying serve` does before listening
    from yunying.store import connect

    instrument()
    started = time.perf_counter()
    store = connect(store_path)
    opened = time.perf_counter() - started
    samples = {}
    try:
        with app_client(store) as client:
            for page in pages:
                samples[page["name"]] = asdict(fetch(client, page["path"]))
    finally:
        store.close()
    return {"open_seconds": round(opened, 3), "samples": samples}


def warm_up(store: Any, pages: list[Page]) -> None:
    """Serve every page and its twin once (templates compiled, modules and kernels loaded)."""
    with app_client(store) as client:
        for page in pages:
            fetch(client, page.path)
            if page.twin:
                fetch(client, page.twin)


def cold_pass(store: Any, pages: list[Page]) -> dict[str, dict[str, Any]]:
    """Each page on a fresh app with the process caches emptied."""
    out = {}
    for page in pages:
        with app_client(store) as client:
            clear_process_caches()
            out[page.name] = asdict(fetch(client, page.path))
    return out


def warm_passes(store: Any, pages: list[Page], reps: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """One app: a warm-up pass, then ``reps`` passes of every page and its twin."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {p.name: {"path": [], "twin": []} for p in pages}
    with app_client(store) as client:
        for page in pages:
            fetch(client, page.path)
            if page.twin:
                fetch(client, page.twin)
        for _ in range(reps):
            for page in pages:
                out[page.name]["path"].append(asdict(fetch(client, page.path)))
                if page.twin:
                    out[page.name]["twin"].append(asdict(fetch(client, page.twin)))
    return out


# ============================================================================== summaries
def _stats(values: list[float | None]) -> dict[str, float] | None:
    kept = [v for v in values if v is not None]
    if not kept:
        return None
    return {"median": round(statistics.median(kept), 1), "min": round(min(kept), 1),
            "max": round(max(kept), 1), "n": len(kept)}


def _median_sample(samples: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The sample with the median server time (its parts show where that time went)."""
    timed = sorted((s for s in samples if s["server_ms"] is not None), key=lambda s: s["server_ms"])
    return timed[(len(timed) - 1) // 2] if timed else None


def summarise_page(page: Page, start: dict[str, Any] | None, colds: list[dict[str, Any]],
                   warm: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    statuses = sorted({s["status"] for s in [*colds, *warm["path"], *warm["twin"]]}
                      | ({start["status"]} if start else set()))
    cold = _stats([s["server_ms"] for s in colds])
    warm_server = _stats([s["server_ms"] for s in warm["path"]])
    over = []
    if start and start["server_ms"] is not None and start["server_ms"] > PAGE_GOAL_MS:
        over.append("after start")
    if cold and cold["median"] > PAGE_GOAL_MS:
        over.append("cold")
    if warm_server and warm_server["median"] > PAGE_GOAL_MS:
        over.append("warm")
    cold_typical, warm_typical = _median_sample(colds), _median_sample(warm["path"])
    return {
        "name": page.name, "group": page.group, "path": page.path, "twin": page.twin, "statuses": statuses,
        "after_start": start,
        "cold": cold, "cold_wall": _stats([s["wall_ms"] for s in colds]),
        "cold_parts": cold_typical["parts"] if cold_typical else {},
        "cold_cpu": _stats([s["cpu_ms"] for s in colds]),
        "warm": warm_server, "warm_wall": _stats([s["wall_ms"] for s in warm["path"]]),
        "warm_parts": warm_typical["parts"] if warm_typical else {},
        "twin_warm": _stats([s["server_ms"] for s in warm["twin"]]),
        "bytes": warm["path"][-1]["size"] if warm["path"] else None,
        "over_goal": over, "ok": not over and statuses == [200],
        "samples": {"cold": colds, "warm": warm["path"], "twin": warm["twin"]},
    }


# ============================================================================== insights at 10M
def insight_documents(date_to: str) -> dict[str, dict[str, Any]]:
    end = dt.date.fromisoformat(date_to)
    span = {"date_from": (end - dt.timedelta(days=29)).isoformat(), "date_to": date_to}
    week = {"date_from": (end - dt.timedelta(days=6)).isoformat(), "date_to": date_to}
    return {
        "trends": {"kind": "trends", "series": [{"event": "$any", "math": "unique_users"}], "interval": "day",
                   "breakdown": "channel", **span},
        "funnel": {"kind": "funnel", "steps": [{"event": e} for e in FUNNEL], "window": "7d",
                   "breakdown": "channel", **span},
        "retention": {"kind": "retention", "start_event": "app_open", "return_event": "$any",
                      "period": "week", "periods": 8, **span},
        "stickiness": {"kind": "stickiness", "event": "app_open", "interval": "day", **span},
        "lifecycle": {"kind": "lifecycle", "event": "$any", "interval": "week", **span},
        "paths": {"kind": "paths", "event": "app_open", "direction": "after", "steps": 5, **span},
        "overview": {"kind": "overview", "revenue": {"event": "pay", "property": "amount"},
                     "conversion": {"steps": ["app_open", "pay"], "window": "1d"}, **week},
    }


def insight_worker(store_path: str, project_name: str, document: dict[str, Any], reps: int) -> dict[str, Any]:
    """(In a fresh process.) Open the store, run ``document`` once (first), then ``reps`` times."""
    import orjson

    from yunying.insights import run_query
    from yunying.store import connect

    started = time.perf_counter()
    store = connect(store_path, read_only=True)
    try:
        project = store.project(project_name)
        opened = time.perf_counter() - started
        memory.reset_peak()
        started = time.perf_counter()
        result = run_query(store, project, document)
        first = time.perf_counter() - started
        runs = []
        for _ in range(reps):
            started = time.perf_counter()
            run_query(store, project, document)
            runs.append(time.perf_counter() - started)
        size = len(orjson.dumps(result.to_json()))
    finally:
        store.close()
    return {"open_seconds": round(opened, 3), "first": first, "runs": runs, "result_bytes": size,
            "peak_rss": memory.peak_rss_bytes()}


def bench_insights(path: Path, info: dict[str, Any], reps: int) -> dict[str, Any]:
    out = {}
    for kind, document in insight_documents(info["date_to"]).items():
        got = _in_fresh_process(insight_worker, str(path), info["project"], document, reps)
        got["median"] = statistics.median(got["runs"]) if got["runs"] else got["first"]
        got["min"] = min(got["runs"]) if got["runs"] else got["first"]
        got["document"] = document
        got["over_goal"] = [w for w, v in (("first", got["first"]), ("warm", got["median"]))
                            if v > INSIGHT_GOAL_S]
        out[kind] = got
        log(f"  {kind:10s} first {got['first'] * 1000:7.0f} ms   warm median {got['median'] * 1000:7.0f} ms"
            f"   min {got['min'] * 1000:6.0f} ms" + ("   OVER 1 s" if got["over_goal"] else ""))
    return out


# ============================================================================== main
def _machine() -> dict[str, Any]:
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        ram = None
    return {"cores": os.cpu_count(), "ram_gib": round(ram) if ram else None}


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("yunying", "duckdb", "ibis-framework", "starlette", "jinja2", "numba"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    out["python"] = sys.version.split()[0]
    return out


def bench_pages(args: argparse.Namespace) -> dict[str, Any]:
    from yunying.demo.workbench import setup_workbench
    from yunying.store import connect

    path, info = demo_store(args.events, args.seed, args.rebuild)
    store = connect(path)
    try:
        setup_workbench(store, info["date_from"], info["date_to"])  # idempotent: the login exists
        pages = discover(store)
    finally:
        store.close()
    log(f"== pages at {size_label(args.events)} demo events ({info['rows']:,}): {len(pages)} requests")
    log("  after start (fresh process) …")
    start = _in_fresh_process(after_start, str(path), [asdict(p) for p in pages])
    instrument()
    store = connect(path)
    try:
        warm_up(store, pages)
        colds: dict[str, list[dict[str, Any]]] = {p.name: [] for p in pages}
        for rep in range(args.cold_reps):
            log(f"  cold pass {rep + 1}/{args.cold_reps} (a fresh app per page) …")
            for name, sample in cold_pass(store, pages).items():
                colds[name].append(sample)
        log(f"  warm: {args.reps} passes …")
        warm = warm_passes(store, pages, args.reps)
    finally:
        store.close()
    summaries = [summarise_page(p, start["samples"].get(p.name), colds[p.name], warm[p.name]) for p in pages]
    return {"store": info, "open_seconds_after_start": start["open_seconds"], "pages": summaries}


def main(argv: Sequence[str] | None = None) -> int:
    from bench import pages_report

    args = parse_args(argv)
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": _machine(), "load_before": _load(),
        "versions": _versions(), "goals": {"page_ms": PAGE_GOAL_MS, "insight_s": INSIGHT_GOAL_S},
        "options": dict(vars(args)),
    }
    if not args.skip_pages:
        results["page_bench"] = bench_pages(args)
        results["load_after_pages"] = _load()
    if not args.skip_insights:
        path, info = insight_store(args.insight_events, args.seed, args.rebuild)
        log(f"== insights at {size_label(args.insight_events)} events ({info['rows']:,}), "
            f"{args.insight_reps} warm runs each, a fresh process per kind")
        results["insights"] = {"store": info, "kinds": bench_insights(path, info, args.insight_reps)}
    results["load_after"] = _load()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    pages_report.print_tables(results)
    md, js = pages_report.write(results)
    shown = md.relative_to(Path.cwd()) if md.is_relative_to(Path.cwd()) else md
    log(f"written: {shown} and {js.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
