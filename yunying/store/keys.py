"""Project keys: a public ingestion key (write-only) and secret API keys (read).

An ingestion key is embedded in apps and web pages, so it is public by design: it can only
send events, never read. A secret API key reads (queries, stats) and is shown once, at
creation; the store keeps only its SHA-256 (the keys are 32 random bytes, so a plain hash
is as safe as a slow one and lets a request be checked in one lookup).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from yunying.store.connection import Project, Store

KeyKind = Literal["ingest", "secret"]
PREFIX: dict[KeyKind, str] = {"ingest": "yy_ingest_", "secret": "yy_secret_"}


@dataclass(frozen=True)
class NewKeys:
    ingest_key: str
    api_key: str


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(kind: KeyKind) -> str:
    return PREFIX[kind] + secrets.token_urlsafe(32)


def add_key(store: Store, project: Project, kind: KeyKind) -> str:
    """Create a key of ``kind`` for ``project``; the only time a secret key is ever returned."""
    key = new_key(kind)
    with store.write_lock():
        store.duckdb.execute(
            "INSERT INTO project_keys VALUES (?, ?, ?, ?, ?, NULL)",
            [project.project_id, kind, sha256(key), key if kind == "ingest" else None,
             dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
    return key


def create_project_with_keys(store: Store, name: str, timezone: str | None = None) -> tuple[Project, NewKeys]:
    project = store.create_project(name, timezone)
    return project, NewKeys(add_key(store, project, "ingest"), add_key(store, project, "secret"))


def ingest_keys(store: Store, project: Project) -> list[str]:
    rows = store.duckdb.execute(
        "SELECT public_key FROM project_keys WHERE project_id = ? AND kind = 'ingest' "
        "AND revoked_at IS NULL ORDER BY created_at", [project.project_id]).fetchall()
    return [r[0] for r in rows]


def key_table(store: Store) -> dict[str, tuple[int, KeyKind]]:
    """SHA-256 of every live key -> (project_id, kind): what the server checks requests against."""
    rows = store.duckdb.execute(
        "SELECT key_sha256, project_id, kind FROM project_keys WHERE revoked_at IS NULL").fetchall()
    return {digest: (pid, kind) for digest, pid, kind in rows}
