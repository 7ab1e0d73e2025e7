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
            "How far either side of an event's timestamp a duplicate uuid is looked for."),
    Setting("duckdb_threads", int, 0, "Threads DuckDB may use; 0 means all cores."),
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
