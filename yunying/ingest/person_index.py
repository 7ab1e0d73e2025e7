"""distinct_id -> person_id for the writer, without scanning ``persons`` on every commit.

The ``persons`` table has no index, so looking a batch's distinct_ids up in it costs a scan
of the whole table — fine for a file import, too slow for a commit every few milliseconds
once there are millions of persons. The writer therefore keeps the mapping of the ids it
has seen in memory (at most ``person_cache_size`` entries; when full it starts again empty)
and asks the table only for ids it has not seen. New persons get the next dense id from a
counter the writer owns, so links and events of one commit number persons consistently.

The cache and the counter describe *committed* state plus the current transaction: if a
commit fails, :meth:`PersonIndex.reset` throws both away and they are rebuilt from the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from yunying import settings


class PersonIndex:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], int] = {}
        self._next: int | None = None
        self.created = 0  # persons created by resolve() (new distinct_ids of events)
        self.limit = int(settings.get("person_cache_size"))

    def reset(self) -> None:
        self._cache.clear()
        self._next = None

    def __len__(self) -> int:
        return len(self._cache)

    def lookup(self, con: duckdb.DuckDBPyConnection, pid: int, ids: Iterable[str]) -> dict[str, int]:
        """The person of each *known* distinct_id among ``ids`` (unknown ones are left out)."""
        cache = self._cache
        wanted = set(ids)
        found = {d: cache[(pid, d)] for d in wanted if (pid, d) in cache}
        missing = sorted(wanted - found.keys())
        if missing:
            rows = con.execute(
                "SELECT distinct_id, person_id FROM persons WHERE project_id = $pid "
                "AND distinct_id IN (SELECT unnest($ids))", {"pid": pid, "ids": missing}).fetchall()
            if len(cache) + len(rows) > self.limit:
                cache.clear()
            for d, p in rows:
                cache[(pid, d)] = p
                found[d] = p
        return found

    def allocate(self, con: duckdb.DuckDBPyConnection) -> int:
        """A new person id: one more than any person id of the store."""
        if self._next is None:
            self._next = int(con.execute(
                "SELECT coalesce(max(person_id), 0) + 1 FROM persons").fetchall()[0][0])
        person = self._next
        self._next += 1
        return person

    def add(self, con: duckdb.DuckDBPyConnection, pid: int, rows: Sequence[tuple[str, int]]) -> None:
        """Store new (distinct_id, person_id) rows in ``persons`` and remember them."""
        if not rows:
            return
        con.execute("INSERT INTO persons SELECT $pid, d, p FROM (SELECT unnest($d) AS d, unnest($p) AS p)",
                    {"pid": pid, "d": [r[0] for r in rows], "p": [r[1] for r in rows]}).fetchall()
        if len(self._cache) + len(rows) > self.limit:
            self._cache.clear()
        for d, p in rows:
            self._cache[(pid, d)] = p

    def resolve(self, con: duckdb.DuckDBPyConnection, pid: int, ids: Sequence[str],
                order: Sequence[int]) -> list[int]:
        """The person of every id of ``ids``, creating persons for new ones.

        New distinct_ids are numbered in the order of their smallest ``order`` value (the
        event time), then by the id itself — the numbering a file import gives.
        """
        known = self.lookup(con, pid, ids)
        if len(known) < len(set(ids)):
            first: dict[str, int] = {}
            for d, o in zip(ids, order, strict=True):
                if d not in known and (d not in first or o < first[d]):
                    first[d] = o
            new = [(d, self.allocate(con)) for d in sorted(first, key=lambda d: (first[d], d))]
            self.add(con, pid, new)
            self.created += len(new)
            known.update(new)
        return [known[d] for d in ids]

    def moved(self, con: duckdb.DuckDBPyConnection, pid: int, persons: Iterable[int]) -> None:
        """Re-read the distinct_ids of ``persons`` after a merge moved ids into them."""
        wanted = sorted(set(persons))
        if not wanted:
            return
        rows = con.execute(
            "SELECT distinct_id, person_id FROM persons WHERE project_id = $pid "
            "AND person_id IN (SELECT unnest($p))", {"pid": pid, "p": wanted}).fetchall()
        for d, p in rows:
            self._cache[(pid, d)] = p
