"""Writing the demo: into a store (project ``demo``) or a Parquet file, truth beside it.

The ground truth goes next to the data as ``<name>.truth.json`` (``demo.duckdb`` →
``demo.truth.json``). Building a store is idempotent: the uuids are a function of the
config, so a re-run inserts nothing new (the writer skips them as duplicates).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from yunying.demo.encode import to_arrow
from yunying.demo.generator import DemoLog, simulate, users_for_events
from yunying.demo.model import TIMEZONE, DemoConfig
from yunying.demo.truth import ground_truth
from yunying.ingest.writer import write_events
from yunying.store import Store

DEMO_PROJECT = "demo"
WRITE_BATCH_ROWS = 250_000
Progress = Callable[[int, int], None]  # (rows written so far, rows in total)


class DemoMismatchError(RuntimeError):
    """The store already holds a demo built from other parameters."""


@dataclass(frozen=True)
class DemoData:
    """A generated dataset: the latent record, its canonical events, its ground truth."""

    log: DemoLog
    events: pa.Table
    truth: dict[str, Any]


def generate_demo(config: DemoConfig | None = None) -> DemoData:
    """Simulate ``config`` (default: 20k users, 60 days to 2026-10-31, seed 2026)."""
    log = simulate(config or DemoConfig())
    return DemoData(log, to_arrow(log), ground_truth(log))


def demo_config(
    *, users: int | None = None, events: int | None = None, days: int = 60, seed: int = 2026
) -> DemoConfig:
    """The config for ``users`` users, or enough users for about ``events`` events."""
    if users is not None and events is not None:
        raise ValueError("give users or events, not both")
    if events is not None:
        users = users_for_events(events, days=days, seed=seed)
    return DemoConfig(users=users or DemoConfig().users, days=days, seed=seed)


def truth_path(data_path: str | Path) -> Path:
    """Where the ground truth of the data at ``data_path`` is written."""
    path = Path(data_path)
    return path.with_name(f"{path.stem}.truth.json")


def write_truth(data_path: str | Path, truth: dict[str, Any]) -> Path:
    target = truth_path(data_path)
    target.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def read_truth(data_path: str | Path) -> dict[str, Any] | None:
    """The ground truth stored beside ``data_path``, or None if there is none."""
    target = truth_path(data_path)
    return json.loads(target.read_text(encoding="utf-8")) if target.exists() else None


def write_demo_parquet(
    path: str | Path, events: int | None = None, seed: int = 2026, *, users: int | None = None,
    days: int = 60, with_truth: bool = True,
) -> DemoData:
    """Write a demo dataset of about ``events`` events (or ``users`` users) as Parquet.

    Columns are those of ``schema.CANONICAL_EVENT`` (uuid, event, distinct_id, timestamp in
    UTC microseconds, properties JSON), rows in timestamp order, 1M-row groups. With
    ``with_truth`` the ground truth is written beside it (``<stem>.truth.json``).
    """
    data = generate_demo(demo_config(users=users, events=events, days=days, seed=seed))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data.events, path, row_group_size=1_000_000, compression="zstd")
    if with_truth:
        write_truth(path, data.truth)
    return data


@dataclass(frozen=True)
class BuildResult:
    inserted: int
    duplicates: int
    truth_file: Path


def clear_demo_project(store: Store) -> None:
    """Remove every event and person of the demo project (for a rebuild with --force)."""
    try:
        project = store.project(DEMO_PROJECT)
    except LookupError:
        return
    store.clear_project(project)


def build_demo_store(
    store: Store, data: DemoData, *, force: bool = False, progress: Progress | None = None
) -> BuildResult:
    """Write ``data`` into project ``demo`` (Asia/Shanghai) of ``store``; truth beside it.

    Raises DemoMismatchError when the store holds a demo of another config and not ``force``.
    """
    if store.location == ":memory:":
        raise ValueError("the demo store needs a file, not :memory:")
    existing = read_truth(store.location)
    if force:
        clear_demo_project(store)
    elif existing is not None and existing.get("dataset") != data.truth["dataset"]:
        raise DemoMismatchError(
            f"{store.location} holds a demo built with {existing.get('dataset')}; "
            "rebuild it with --force or choose another --db"
        )
    project = store.ensure_project(DEMO_PROJECT, TIMEZONE)
    total, inserted = data.events.num_rows, 0
    for start in range(0, total, WRITE_BATCH_ROWS):
        result = write_events(store, project, data.events.slice(start, WRITE_BATCH_ROWS))
        inserted += result.inserted
        if progress:
            progress(min(start + WRITE_BATCH_ROWS, total), total)
    truth_file = write_truth(store.location, data.truth)
    return BuildResult(inserted, total - inserted, truth_file)
