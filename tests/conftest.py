"""Shared test fixtures: event logs loaded into a store, a ``run(doc)`` helper, engines.

Engines. Every fixture that touches a store goes through ``engine`` (a session-scoped
parameter, default ``duckdb``; ``pytest --engines duckdb,spark`` runs the same test bodies on
several engines once a factory is registered in :data:`LOG_LOADERS`). A loader takes an
event list and a project time zone and returns a :class:`LoadedLog`.

Events are plain dicts (see ``tests/oracle.py``): ``uuid``, ``event``, ``distinct_id``,
``timestamp`` (naive UTC ``datetime``) and ``properties`` (a dict, written as JSON text).

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``dev`` (default), ``ci`` (derandomized, no
example database, for reproducible CI runs) and ``thorough`` (10× the examples).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import oracle  # tests/ is on sys.path (pytest's rootdir conftest import)
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings

from yunying.ingest.writer import write_events
from yunying.insights import parse_document, run_query
from yunying.store import Project, Store
from yunying.store.connection import connect
from yunying.store.schema import CANONICAL_EVENT

pytest_plugins = ["ui_support"]  # browser fixtures (used by tests/test_ui_*.py only)

# ----------------------------------------------------------------------------- hypothesis
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("dev"), derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("thorough", parent=settings.get_profile("dev"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

Event = dict[str, Any]


def events_to_arrow(events: list[Event]) -> pa.Table:
    """Events as a table of ``schema.CANONICAL_EVENT`` (properties as JSON text)."""
    return pa.Table.from_pylist(
        [
            {
                "uuid": str(e["uuid"]),
                "event": e["event"],
                "distinct_id": e["distinct_id"],
                "timestamp": e["timestamp"],
                "properties": json.dumps(e["properties"], ensure_ascii=False),
            }
            for e in events
        ],
        schema=CANONICAL_EVENT,
    )


@dataclass
class LoadedLog:
    """An event log stored as one project, with the runner and the oracle side by side."""

    store: Store
    project: Project
    events: list[Event] = field(repr=False)

    def run(self, document: dict[str, Any]) -> dict[str, Any]:
        """The runner's ``result.to_json()`` for ``document`` on this project."""
        return run_query(self.store, self.project, document).to_json()

    def oracle(self, document: dict[str, Any]) -> dict[str, Any]:
        """The oracle's answer for ``document`` on the same events."""
        return oracle.run_oracle(self.events, parse_document(document), self.project.timezone)


LogLoader = Callable[[list[Event], str], LoadedLog]
_project_names = (f"p{i}" for i in itertools.count(1))


class DuckDBLogLoader:
    """One in-memory DuckDB store per session; every log becomes a new project in it.

    Sharing the store means other projects' events are always present, so each comparison
    also checks that a query only reads its own project's rows.
    """

    def __init__(self) -> None:
        self.store = connect(":memory:")

    def __call__(self, events: list[Event], timezone: str) -> LoadedLog:
        project = self.store.create_project(next(_project_names), timezone)
        result = write_events(self.store, project, events_to_arrow(events))
        assert result.inserted == len(events), "test logs must have unique uuids"
        return LoadedLog(self.store, project, events)

    def close(self) -> None:
        self.store.close()


class SparkLogLoader(DuckDBLogLoader):
    """Writes through DuckDB (the one writer), then publishes the store to Spark and queries
    Spark. Slow (a copy per log): opt in with ``--engines spark``."""

    def __init__(self) -> None:
        super().__init__()
        from yunying.store.spark import connect_spark

        self.spark = connect_spark()

    def __call__(self, events: list[Event], timezone: str) -> LoadedLog:
        from yunying.store.spark import copy_to_spark

        log = super().__call__(events, timezone)
        copy_to_spark(self.store, self.spark)
        return LoadedLog(self.spark, log.project, events)


# Engine name -> loader class.
LOG_LOADERS: dict[str, Callable[[], Any]] = {"duckdb": DuckDBLogLoader, "spark": SparkLogLoader}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engines", default="duckdb",
                     help="comma-separated engines the store-backed tests run on (duckdb, spark)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        engines = [e.strip() for e in metafunc.config.getoption("engines").split(",") if e.strip()]
        metafunc.parametrize("engine", engines, scope="session")


@pytest.fixture(scope="session")
def load_log(engine: str) -> Iterator[LogLoader]:
    """``load_log(events, timezone) -> LoadedLog``; session-scoped, safe inside @given."""
    if engine not in LOG_LOADERS:
        pytest.skip(f"no store factory for engine {engine!r} yet")
    loader = LOG_LOADERS[engine]()
    yield loader
    loader.close()


# ----------------------------------------------------------------------------- a small fixed log
def _utc(local: str, timezone: str = "Asia/Shanghai") -> dt.datetime:
    """Naive UTC of a local wall-clock time ``YYYY-MM-DD HH:MM[:SS[.ffffff]]``."""
    aware = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(timezone))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def small_events() -> list[Event]:
    """A fixed log of a few users over a week in Asia/Shanghai (any test may read it)."""
    rows = [
        ("alice", "2024-01-01 00:00", "$pageview", {"$browser": "Chrome", "plan": "pro"}),
        ("alice", "2024-01-01 09:30", "signup", {"$browser": "Chrome", "price": 10}),
        ("alice", "2024-01-02 10:00", "purchase", {"price": "12.5", "商品名称": "茶叶"}),
        ("bob", "2024-01-01 23:59:59", "$pageview", {"$browser": "Safari"}),
        ("bob", "2024-01-02 00:00", "signup", {"price": None}),
        ("bob", "2024-01-05 08:00", "$pageview", {"$browser": "Safari", "plan": "free"}),
        ("carol", "2024-01-03 12:00", "$pageview", {"$browser": "Firefox", "emoji": "😀"}),
        ("carol", "2024-01-03 12:00", "signup", {"price": 3}),
        ("carol", "2024-01-07 23:00", "purchase", {"price": 7.25}),
    ]
    return [
        {"uuid": f"00000000-0000-0000-0000-{i:012d}", "distinct_id": user,
         "timestamp": _utc(local), "event": name, "properties": props}
        for i, (user, local, name, props) in enumerate(rows)
    ]


@pytest.fixture(scope="session")
def small_log(load_log: LogLoader) -> LoadedLog:
    """:func:`small_events` loaded once per session (project time zone Asia/Shanghai)."""
    return load_log(small_events(), "Asia/Shanghai")


@pytest.fixture
def run(small_log: LoadedLog) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``run(doc) -> result.to_json()`` on :func:`small_log`."""
    return small_log.run
