"""The workbench's metadata: one cursor, one lock, short transactions.

Accounts, memberships, sessions, saved insights and dashboards are small tables in the
store's DuckDB file (schema.py). The server's ingestion writer commits on its own cursor;
metadata statements go through this one, serialised by a lock (they are few and take well
under a millisecond), so a page never waits for a group commit and the writer never waits
for a page.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from yunying.store.connection import Store

# Tables whose integer id is handed out as max + 1 (under the lock, inside the transaction).
_ID_COLUMNS = {"accounts": "account_id", "saved_insights": "insight_id", "dashboards": "dashboard_id"}


def utcnow() -> dt.datetime:
    """Now, as the naive UTC timestamp the store keeps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Meta:
    """Access to the metadata tables of ``store`` (thread-safe; one statement at a time)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cursor = store.duckdb.cursor()
        self._lock = threading.RLock()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one parameterised statement; every row of its result."""
        with self._lock:
            return self._cursor.execute(sql, list(params)).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.row(sql, params)
        return None if found is None else found[0]

    @contextmanager
    def transaction(self) -> Iterator[Meta]:
        """Statements inside run atomically (and no other metadata statement runs meanwhile)."""
        with self._lock:
            self._cursor.execute("BEGIN TRANSACTION")
            try:
                yield self
            except BaseException:
                self._cursor.execute("ROLLBACK")
                raise
            self._cursor.execute("COMMIT")

    def next_id(self, table: str) -> int:
        """The next free id of ``table`` (call inside :meth:`transaction`)."""
        column = _ID_COLUMNS[table]  # a fixed name from this module, never user text
        return int(self.value(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))

    def close(self) -> None:
        self._cursor.close()
