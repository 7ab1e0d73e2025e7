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
from yunying.store.meta import Meta

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


@dataclass(frozen=True)
class KeyRow:
    """A key as the settings page lists it: secret keys only by their digest."""

    kind: KeyKind
    key_sha256: str
    public_key: str | None  # ingestion keys only
    created_at: dt.datetime  # naive UTC
    revoked_at: dt.datetime | None


def key_rows(meta: Meta, project_id: int) -> list[KeyRow]:
    """Every key of the project, oldest first (through the metadata cursor)."""
    rows = meta.rows("SELECT kind, key_sha256, public_key, created_at, revoked_at FROM project_keys "
                     "WHERE project_id = ? ORDER BY created_at, key_sha256", [project_id])
    return [KeyRow(*row) for row in rows]


def revoke_key(meta: Meta, project_id: int, kind: KeyKind, key_sha256: str) -> bool:
    """Revoke a live key of the project; whether one was revoked. (A running server must
    reload its key ring afterwards: ``AppState.reload``.)"""
    done = meta.rows(
        "UPDATE project_keys SET revoked_at = ? WHERE project_id = ? AND kind = ? AND key_sha256 = ? "
        "AND revoked_at IS NULL RETURNING key_sha256",
        [dt.datetime.now(dt.UTC).replace(tzinfo=None), project_id, kind, key_sha256])
    return bool(done)
