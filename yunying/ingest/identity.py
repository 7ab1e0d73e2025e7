"""Identity: distinct_ids -> persons, merges, and person properties — inside the writer's commit.

The rules (also in docs/metrics.md, "Persons"):

* Every distinct_id belongs to exactly one person (``persons``); a new distinct_id gets a new
  person, numbered densely per store.
* A link (anon_id, user_id) — a login (``identify``), an ``alias``, or an explicit ``merge`` —
  makes the two ids one person, and that person *identified*:
  - neither id known: one new person holds both;
  - one known: the other joins its person — unless the link is an identify/alias whose
    anonymous side already belongs to an identified person (a shared device: another user
    logged in there before); then the user id gets a person of its own and the link is
    counted as refused;
  - both known, different persons: the anonymous side's person is merged into the user's,
    unless it is identified too — two identified persons are never merged silently (the
    link is refused and counted); only an explicit ``merge`` (secret key) joins them.
  A merge moves the distinct_ids and re-labels the person's stored events, so every insight
  counts the merged person once; the two persons' properties are combined (the surviving
  person's values win).
* Person operations apply in order: ``set`` overwrites, ``set_once`` only fills absent
  keys, ``unset`` removes keys, ``add`` adds numbers (a missing or non-numeric value counts
  as 0), ``append`` adds to a list (a scalar becomes a one-element list first), ``union``
  appends values not already present, ``remove`` deletes values from a list, ``delete``
  clears all properties (the person and its events stay).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from yunying.ingest.batch import IdentityLink, PersonOp, dump_json
from yunying.ingest.person_index import PersonIndex


@dataclass
class IdentityCounts:
    persons_created: int = 0
    merges: int = 0
    links_refused: int = 0


def _profiles(con: duckdb.DuckDBPyConnection, pid: int,
              persons: Iterable[int]) -> dict[int, tuple[bool, dict]]:
    wanted = sorted(set(persons))
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT person_id, is_identified, properties FROM person_profiles WHERE project_id = $pid "
        "AND person_id IN (SELECT unnest($ids))", {"pid": pid, "ids": wanted}).fetchall()
    return {p: (bool(ident), orjson.loads(props)) for p, ident, props in rows}


def _save_profiles(con: duckdb.DuckDBPyConnection, pid: int, profiles: dict[int, tuple[bool, dict]],
                   dropped: Iterable[int] = ()) -> None:
    gone = sorted(set(dropped) | set(profiles))
    if gone:
        con.execute("DELETE FROM person_profiles WHERE project_id = $pid "
                    "AND person_id IN (SELECT unnest($ids))", {"pid": pid, "ids": gone}).fetchall()
    if profiles:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        table = pa.table({
            "person_id": pa.array(list(profiles), pa.int64()),
            "is_identified": pa.array([v[0] for v in profiles.values()], pa.bool_()),
            "properties": pa.array([dump_json(v[1]) for v in profiles.values()], pa.string()),
        })
        con.register("_yunying_profiles", table)
        try:
            con.execute("INSERT INTO person_profiles SELECT $pid, person_id, is_identified, properties, $now "
                        "FROM _yunying_profiles", {"pid": pid, "now": now}).fetchall()
        finally:
            con.unregister("_yunying_profiles")


def apply_links(con: duckdb.DuckDBPyConnection, pid: int, links: Sequence[IdentityLink],
                persons: PersonIndex) -> IdentityCounts:
    """Apply identity links in order (see the module docstring); the caller holds the transaction."""
    counts = IdentityCounts()
    if not links:
        return counts
    owner = persons.lookup(con, pid, [x for link in links for x in (link.anon_id, link.user_id)])
    profiles = _profiles(con, pid, owner.values())
    identified = {p: v[0] for p, v in profiles.items()}
    new_rows: list[tuple[str, int]] = []
    remap: dict[int, int] = {}  # merged person -> surviving person
    touched: set[int] = set()

    def attach(distinct_id: str, person: int) -> None:
        owner[distinct_id] = person
        new_rows.append((distinct_id, person))

    for link in links:
        a, u = link.anon_id, link.user_id
        if a == u:
            continue
        pa_, pu = owner.get(a), owner.get(u)
        if pa_ is None and pu is None:
            person = persons.allocate(con)
            counts.persons_created += 1
            attach(a, person)
            attach(u, person)
        elif pu is None:
            assert pa_ is not None
            if identified.get(pa_) and link.kind != "merge":
                counts.links_refused += 1
                person = persons.allocate(con)
                counts.persons_created += 1
                attach(u, person)
            else:
                person = pa_
                attach(u, person)
        elif pa_ is None:
            person = pu
            attach(a, person)
        elif pa_ == pu:
            person = pu
        elif identified.get(pa_) and link.kind != "merge":
            counts.links_refused += 1
            continue
        else:
            person = pu
            counts.merges += 1
            remap[pa_] = pu
            for key, value in list(owner.items()):
                if value == pa_:
                    owner[key] = pu
            new_rows[:] = [(d, pu if p == pa_ else p) for d, p in new_rows]
            for old, new in list(remap.items()):
                if new == pa_:
                    remap[old] = pu
            props_a = profiles.pop(pa_, (False, {}))[1]
            ident_u, props_u = profiles.get(pu, (False, {}))
            profiles[pu] = (ident_u, {**props_a, **props_u})
            touched.discard(pa_)
        identified[person] = True
        profiles[person] = (True, profiles.get(person, (True, {}))[1])
        touched.add(person)

    persons.add(con, pid, new_rows)
    if remap:
        params = {"pid": pid, "old": list(remap), "new": list(remap.values())}
        for table in ("persons", "events"):
            con.execute(
                f"""UPDATE {table} SET person_id = m.new
                    FROM (SELECT unnest($old) AS old, unnest($new) AS new) AS m
                    WHERE {table}.project_id = $pid AND {table}.person_id = m.old""", params).fetchall()
        persons.moved(con, pid, remap.values())
    _save_profiles(con, pid, {p: profiles[p] for p in touched}, dropped=remap)
    return counts


def apply_person_ops(con: duckdb.DuckDBPyConnection, pid: int, ops: Sequence[PersonOp],
                     persons: PersonIndex) -> None:
    """Apply person operations in order; every distinct_id of ``ops`` must have a person."""
    if not ops:
        return
    owner = persons.lookup(con, pid, (op.distinct_id for op in ops))
    profiles = _profiles(con, pid, owner.values())
    touched: dict[int, tuple[bool, dict]] = {}
    for op in ops:
        person = owner[op.distinct_id]
        ident, props = touched.get(person) or profiles.get(person) or (False, {})
        touched[person] = (ident, apply_op(props, op))
    _save_profiles(con, pid, touched)


def apply_op(props: dict[str, Any], op: PersonOp) -> dict[str, Any]:
    """``props`` after one operation (a new dict; see the module docstring for each kind)."""
    out = dict(props)
    values = op.properties
    if op.op == "set":
        out.update(values)
    elif op.op == "set_once":
        for k, v in values.items():
            out.setdefault(k, v)
    elif op.op == "unset":
        for k in values:
            out.pop(k, None)
    elif op.op == "add":
        for k, v in values.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                old = out.get(k)
                base = old if isinstance(old, int | float) and not isinstance(old, bool) else 0
                out[k] = base + v
    elif op.op in ("append", "union"):
        for k, v in values.items():
            old = out.get(k)
            items = list(old) if isinstance(old, list) else ([] if old is None else [old])
            for item in v if isinstance(v, list) and op.op == "union" else [v]:
                if op.op == "append" or item not in items:
                    items.append(item)
            out[k] = items
    elif op.op == "remove":
        for k, v in values.items():
            if isinstance(out.get(k), list):
                drop = v if isinstance(v, list) else [v]
                out[k] = [x for x in out[k] if x not in drop]
    elif op.op == "delete":
        out = {}
    return out
