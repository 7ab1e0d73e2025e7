"""The one table of settings: name, type, default, help.

Every setting can be given as an environment variable ``YUNYING_<NAME>`` (upper case).
Units are part of the name (``_ms``, ``_bytes``, ``_days``) so a value is never ambiguous.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", str, "", "Path of the DuckDB store; empty means the user data dir."),
    Setting("default_timezone", str, "Asia/Shanghai", "Time zone of new projects (IANA name)."),
    Setting("dedup_window_days", int, 7,
            "Dedup memory: the server never stores an event id twice within this many days of "
            "the first; an import looks this far either side of a file's time span."),
    Setting("duckdb_threads", int, 0, "Threads DuckDB may use; 0 means all cores."),
    Setting("future_tolerance_seconds", int, 86_400,
            "An event further than this in the future is clamped to its arrival time and flagged."),
    Setting("max_body_bytes", int, 20 * 1024 * 1024,
            "Largest capture request body accepted, before decompression (larger: HTTP 413)."),
    Setting("max_decoded_bytes", int, 100 * 1024 * 1024,
            "Largest capture body after gzip/base64 decoding (larger: HTTP 413)."),
    Setting("commit_interval_ms", int, 20,
            "Group commit: how long the writer gathers requests before one commit."),
    Setting("commit_max_events", int, 20_000, "Group commit: most events in one commit."),
    Setting("max_pending_events", int, 200_000,
            "Events waiting for the writer before capture answers 503 with Retry-After."),
    Setting("person_cache_size", int, 2_000_000,
            "distinct_ids whose person the ingestion writer keeps in memory (about 150 bytes each)."),
    Setting("server_memory_limit", str, "1GB",
            "DuckDB memory limit inside yunying serve (its cache of written blocks is bounded by it)."),
    Setting("checkpoint_wal_bytes", int, 512 * 1024 * 1024,
            "yunying serve folds its write-ahead log into the store once it holds this many bytes."),
    Setting("query_timeout_ms", int, 30_000, "A query through the API is stopped after this long."),
    Setting("result_max_age_seconds", int, 30,
            "While events keep arriving, the workbench reuses a computed insight for this long "
            "(its Refresh button recomputes at once)."),
    Setting("max_upload_bytes", int, 2 * 1024 ** 3, "Largest file the workbench's import page accepts."),
    Setting("session_days", int, 14, "A workbench login lasts this many days."),
    Setting("sql_console_row_cap", int, 10_000, "Most rows the SQL console (自定义查询) returns."),
    Setting("sql_console_timeout_ms", int, 10_000, "A SQL console query is stopped after this long."),
    Setting("duckdb_memory_limit", str, "",
            "DuckDB memory limit such as '4GB'; empty means DuckDB's default."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> Any:
    """The value of setting ``name``: the environment variable if set, else the default."""
    setting = _BY_NAME[name]
    raw = os.environ.get(f"YUNYING_{name.upper()}")
    if raw is None or raw == "":
        return setting.default
    try:
        return setting.type(raw)
    except ValueError as exc:
        raise ValueError(
            f"environment variable YUNYING_{name.upper()}={raw!r} is not a valid {setting.type.__name__}"
        ) from exc


def default_db_path() -> Path:
    """Where the store lives when ``--db`` is not given."""
    configured = get("db")
    if configured:
        return Path(configured)
    return Path(platformdirs.user_data_dir("yunying")) / "yunying.duckdb"
