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
    # What is known of a person beyond its distinct_ids: whether a login id is among them
    # (identified persons are never merged silently) and its properties ($set …) as JSON.
    """CREATE TABLE IF NOT EXISTS person_profiles (
        project_id INTEGER NOT NULL,
        person_id BIGINT NOT NULL,
        is_identified BOOLEAN NOT NULL,
        properties VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    # Keys of a project. Ingestion keys are public (embedded in apps) and kept as given;
    # secret keys are kept only as their SHA-256.
    """CREATE TABLE IF NOT EXISTS project_keys (
        project_id INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        key_sha256 VARCHAR NOT NULL UNIQUE,
        public_key VARCHAR,
        created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP
    )""",
    # Every message the ingestion server refused, with its reason (GET /api/v1/ingest/stats).
    """CREATE TABLE IF NOT EXISTS ingest_rejects (
        project_id INTEGER NOT NULL,
        received_at TIMESTAMP NOT NULL,
        wire_format VARCHAR NOT NULL,
        message_index INTEGER NOT NULL,
        field VARCHAR,
        reason VARCHAR NOT NULL
    )""",
    # ---- the workbench's metadata (accounts, roles, saved insights, dashboards). It lives in
    # the same file as the events: one file to back up, held by one process (docs/architecture.md).
    """CREATE TABLE IF NOT EXISTS accounts (
        account_id INTEGER PRIMARY KEY,
        login VARCHAR NOT NULL UNIQUE,
        display_name VARCHAR NOT NULL,
        password_hash VARCHAR NOT NULL,
        locale VARCHAR,
        is_superuser BOOLEAN NOT NULL,
        created_at TIMESTAMP NOT NULL,
        disabled_at TIMESTAMP
    )""",
    # One row per (project, account); role is viewer, analyst or admin.
    """CREATE TABLE IF NOT EXISTS memberships (
        project_id INTEGER NOT NULL,
        account_id INTEGER NOT NULL,
        role VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    # Browser sessions; the cookie holds the token, the store only its SHA-256.
    """CREATE TABLE IF NOT EXISTS web_sessions (
        token_sha256 VARCHAR NOT NULL,
        account_id INTEGER NOT NULL,
        csrf_token VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL
    )""",
    # Per-project workbench settings (key -> JSON value): revenue event, key conversion …
    """CREATE TABLE IF NOT EXISTS project_settings (
        project_id INTEGER NOT NULL,
        key VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    )""",
    # Saved insights store the query document (JSON), never SQL.
    """CREATE TABLE IF NOT EXISTS saved_insights (
        insight_id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        document VARCHAR NOT NULL,
        created_by INTEGER,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dashboards (
        dashboard_id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        date_range VARCHAR NOT NULL,
        share_token VARCHAR,
        created_by INTEGER,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    # A tile shows one saved insight on one dashboard; position orders the tiles, width is 1 or 2
    # (half or full row).
    """CREATE TABLE IF NOT EXISTS dashboard_tiles (
        dashboard_id INTEGER NOT NULL,
        insight_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        width INTEGER NOT NULL
    )""",
    # Experiments (A/B tests): the definition as JSON (yunying/experiments/definition.py), its
    # status copied to a column for listing. The key is unique per project (checked on write).
    """CREATE TABLE IF NOT EXISTS experiments (
        project_id INTEGER NOT NULL,
        key VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        definition VARCHAR NOT NULL,
        created_by INTEGER,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
)

SCHEMA_VERSION = 4
