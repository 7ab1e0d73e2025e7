"""The canonical event and the tables of the store.

One fact, one place: every module that needs a column name or type reads it from here.

Timestamps are UTC, microsecond precision, stored as naive ``TIMESTAMP`` values that mean UTC.
``properties`` is the event's JSON object as text; a few common properties are also
*materialised* into typed columns at write time (same value as the JSON, extracted by the
same rule) so that the most frequent breakdowns and filters skip JSON parsing.
"""

from __future__ import annotations

import pyarrow as pa

# Property name -> materialised column. Values are the property's *string form* as defined
# in docs/metrics.md ("Property values"): exactly what a JSON lookup of the key returns.
MATERIALIZED_PROPERTIES: dict[str, str] = {
    "$browser": "mat_browser",
    "$os": "mat_os",
    "$device_type": "mat_device_type",
    "$city": "mat_city",
    "$current_url": "mat_current_url",
    "utm_source": "mat_utm_source",
    "channel": "mat_channel",
}

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_id", "INTEGER"),
    ("uuid", "VARCHAR"),
    ("event", "VARCHAR"),
    ("distinct_id", "VARCHAR"),
    ("person_id", "BIGINT"),
    ("timestamp", "TIMESTAMP"),
    ("properties", "VARCHAR"),
    *((col, "VARCHAR") for col in MATERIALIZED_PROPERTIES.values()),
    ("inserted_at", "TIMESTAMP"),
)

# What a writer hands to the store: the canonical event before identity is resolved.
CANONICAL_EVENT = pa.schema(
    [
        pa.field("uuid", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),
        pa.field("distinct_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us"), nullable=False),
        pa.field("properties", pa.string(), nullable=False),
    ]
)

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS projects (
        project_id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        timezone VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS persons (
        project_id INTEGER NOT NULL,
        distinct_id VARCHAR NOT NULL,
        person_id BIGINT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS events ("
    + ", ".join(f'"{name}" {sqltype}' for name, sqltype in EVENT_COLUMNS)
    + ")",
    """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)""",
)

SCHEMA_VERSION = 1
