"""The catalog of what a project has received (autocomplete): counts, isolation, sampling, cache."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from yunying.ingest.writer import write_events
from yunying.insights import catalog
from yunying.store import Project, Store
from yunying.store.connection import connect
from yunying.store.schema import CANONICAL_EVENT

LAST = dt.datetime(2026, 10, 31, 12, 0)  # naive UTC


def write(store: Store, project: Project, rows: list[tuple[str, dt.datetime, dict[str, Any]]]) -> None:
    table = pa.Table.from_pylist([
        {"uuid": str(uuid.uuid4()), "event": name, "distinct_id": f"u{i % 3}", "timestamp": at,
         "properties": json.dumps(props, ensure_ascii=False)}
        for i, (name, at, props) in enumerate(rows)
    ], schema=CANONICAL_EVENT)
    assert write_events(store, project, table).inserted == len(rows)


@pytest.fixture
def stores(tmp_path) -> Iterator[tuple[Store, Project, Project, Project]]:
    """Project shop (a few named events), project rival (its own keys), project history (old and new)."""
    catalog.clear_cache()
    store = connect(tmp_path / "catalog.duckdb")
    shop, rival, history = (store.create_project(n, "Asia/Shanghai") for n in ("shop", "rival", "history"))
    minute = dt.timedelta(minutes=1)
    write(store, shop, [
        *(("view", LAST - i * minute, {"plan": "pro" if i < 3 else "free", "channel": "微信"})
          for i in range(5)),
        *(("buy", LAST - i * minute, {"price": 10 + i, "it's \"quoted\"": "yes"}) for i in range(3)),
        ("$pageview", LAST, {"$browser": "Chrome"}),
    ])
    write(store, rival, [("secret_event", LAST - i * minute, {"secret_key": "secret value", "plan": "rival"})
                         for i in range(7)])
    old = LAST - dt.timedelta(days=10)
    write(store, history, [
        *(("rare", old - i * minute, {"old_key": 1, "plan": "old"}) for i in range(30)),
        *(("open", LAST - i * minute, {"new_key": 1, "plan": "new"}) for i in range(20)),
    ])
    yield store, shop, rival, history
    store.close()
    catalog.clear_cache()


def test_event_names_are_counted_most_frequent_first_per_project(stores) -> None:
    store, shop, rival, _ = stores
    assert catalog.event_names(store, shop) == [("view", 5), ("buy", 3), ("$pageview", 1)]
    assert catalog.event_names(store, rival) == [("secret_event", 7)]


def test_property_keys_and_values_never_come_from_another_project(stores) -> None:
    store, shop, rival, _ = stores
    keys = catalog.property_keys(store, shop)
    assert set(keys) == {"plan", "channel", "price", "it's \"quoted\"", "$browser"}
    assert keys[:2] == ["channel", "plan"]  # five events each, then the rest
    assert catalog.property_keys(store, shop, event="buy") == ["it's \"quoted\"", "price"]
    assert catalog.property_values(store, shop, "plan") == [("pro", 3), ("free", 2)]
    assert catalog.property_values(store, rival, "plan") == [("rival", 7)]
    assert "secret_key" not in keys and catalog.property_values(store, shop, "secret_key") == []


def test_values_of_materialised_and_odd_keys_are_their_string_forms(stores) -> None:
    store, shop, _, _ = stores
    assert catalog.property_values(store, shop, "channel") == [("微信", 5)]  # a materialised column
    assert catalog.property_values(store, shop, "it's \"quoted\"") == [("yes", 3)]  # bound, never SQL text
    prices = catalog.property_values(store, shop, "price", event="buy", limit=2)
    assert prices == [("10", 1), ("11", 1)]  # numbers as the text filters compare with; limit kept


def test_keys_and_values_come_from_a_bounded_sample_of_recent_events(stores) -> None:
    store, _, _, history = stores
    # Everything when the whole history is small ...
    assert set(catalog.property_keys(store, history)) == {"old_key", "new_key", "plan"}
    # ... only the newest window when a sample of 10 is asked for: the 20 events of the last hour.
    assert catalog.property_keys(store, history, sample=10) == ["new_key", "plan"]
    recent = catalog.property_values(store, history, "plan", sample=10)
    assert recent == [("new", 10)]  # at most `sample` events are read
    # A rare event is not searched for past SCAN_FACTOR * sample events of any name.
    assert catalog.property_keys(store, history, event="rare", sample=2) == []
    assert catalog.recent_cutoff(store, history, sample=10) == LAST - dt.timedelta(hours=1)
    assert catalog.recent_cutoff(store, history, sample=1000) is None


def test_answers_are_cached_for_a_minute(stores, monkeypatch) -> None:
    store, shop, _, _ = stores
    assert catalog.event_names(store, shop)[0] == ("view", 5)
    write(store, shop, [("signup", LAST, {}) for _ in range(9)])
    assert catalog.event_names(store, shop)[0] == ("view", 5)  # still the cached answer
    now = catalog.time.monotonic()
    monkeypatch.setattr(catalog.time, "monotonic", lambda: now + catalog.TTL_SECONDS + 1)
    assert catalog.event_names(store, shop)[0] == ("signup", 9)


def test_an_empty_project_has_an_empty_catalog(stores) -> None:
    store, *_ = stores
    empty = store.create_project("empty", "UTC")
    assert catalog.event_names(store, empty) == []
    assert catalog.property_keys(store, empty) == []
    assert catalog.property_values(store, empty, "plan") == []
