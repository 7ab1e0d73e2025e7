"""Demo events as Parquet, generated once per (events, seed) and cached in ``bench/data/``.

yunying's own demo generator makes the data. A Parquet writer of the demo package
(``write_demo_parquet(path, events=N, seed=S)``) is used when it exists; otherwise the
generator's simulation and its canonical Arrow encoding are written here with pyarrow
(same rows, same columns). Timestamps are written as UTC instants (``timestamp[us, UTC]``) so
no importer has to guess a zone.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DATA_DIR = Path(__file__).resolve().parent / "data"
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Dataset:
    """One cached Parquet file and what the queries need to know about it."""

    path: str
    events: int  # requested
    seed: int
    rows: int  # actual
    users: int
    date_from: str  # local dates (TIMEZONE) of the first and last event
    date_to: str
    parquet_bytes: int
    generator: str  # which code wrote the file
    generate_seconds: float

    @property
    def label(self) -> str:
        return size_label(self.events)


def size_label(events: int) -> str:
    """1000000 -> '1M', 10000000 -> '10M', 250000 -> '250K'."""
    for unit, name in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if events >= unit and events % (unit // 10) == 0:
            value = events / unit
            return f"{value:g}{name}"
    return str(events)


def _find_demo_writer() -> Callable[..., Any] | None:
    """``write_demo_parquet`` from ``yunying.demo`` or one of its modules, if it exists yet."""
    package = importlib.import_module("yunying.demo")
    found = getattr(package, "write_demo_parquet", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    for module in pkgutil.iter_modules(package.__path__):
        try:
            loaded = importlib.import_module(f"yunying.demo.{module.name}")
        except ImportError:
            continue
        found = getattr(loaded, "write_demo_parquet", None)
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def _write_with_generator(path: Path, events: int, seed: int) -> str:
    """Fallback: simulate with yunying's generator, encode canonically, write with pyarrow."""
    from yunying.demo.encode import to_arrow
    from yunying.demo.generator import simulate, users_for_events
    from yunying.demo.model import DemoConfig

    users = users_for_events(events, seed=seed)
    table = to_arrow(simulate(DemoConfig(users=users, seed=seed)))
    ts = table.column("timestamp").cast(pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", ts)
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
    return "yunying.demo generator (simulate + encode.to_arrow), written by bench.data"


def _generate(path: Path, events: int, seed: int) -> str:
    writer = _find_demo_writer()
    if writer is None:
        return _write_with_generator(path, events, seed)
    writer(path, events=events, seed=seed)
    return f"{writer.__module__}.{writer.__name__}"


def _local_date(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(TIMEZONE)).date().isoformat()


def _describe(path: Path) -> dict[str, Any]:
    table = pq.read_table(path, columns=["timestamp", "distinct_id"])
    bounds = pc.min_max(table.column("timestamp")).as_py()
    return {
        "rows": table.num_rows,
        "users": pc.count_distinct(table.column("distinct_id")).as_py(),
        "date_from": _local_date(bounds["min"]),
        "date_to": _local_date(bounds["max"]),
        "parquet_bytes": path.stat().st_size,
    }


def dataset(events: int, seed: int, log: Callable[[str], None] = print) -> Dataset:
    """The cached dataset for (events, seed), generated first if missing."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"demo_{events}_seed{seed}.parquet"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return Dataset(**json.loads(meta_path.read_text()))
    log(f"generating {events:,} demo events (seed {seed}) -> {path.name}")
    partial = path.with_name(f"{path.stem}.partial.parquet")
    started = time.perf_counter()
    generator = _generate(partial, events, seed)
    seconds = time.perf_counter() - started
    partial.replace(path)
    for extra in partial.parent.glob(f"{partial.stem}.*"):  # e.g. the demo's .truth.json
        extra.replace(extra.with_name(extra.name.replace(partial.stem, path.stem, 1)))
    found = Dataset(path=str(path), events=events, seed=seed, generator=generator,
                    generate_seconds=round(seconds, 2), **_describe(path))
    meta_path.write_text(json.dumps(asdict(found), indent=1))
    log(f"  {found.rows:,} rows, {found.users:,} users, {found.date_from} .. {found.date_to}, "
        f"{found.parquet_bytes / 1e6:.0f} MB in {seconds:.1f} s ({generator})")
    return found
