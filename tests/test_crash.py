"""``kill -9`` of ``yunying serve`` under load loses no acknowledged event and stores none twice.

Four SDK-like senders post PostHog batches of 1–200 events (``tests/loadgen_support.py``);
the server is killed with SIGKILL five times, 0.3–2 s apart, and restarted on the same store;
the senders retry every unacknowledged body unchanged and re-send some acknowledged ones.
Once the server has stopped cleanly, the store is opened read-only and compared with the
senders' ledger. The second test does the same while ``$create_alias`` events merge persons.

The randomness is seeded: set ``YUNYING_CRASH_SEED`` to repeat a run (every failure message
starts with the seed). ``make test-crash`` runs these tests (about a minute each on 2 cores).
"""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
from loadgen_support import CrashRun, random_uuid

from bench.ingest.events import sdk_event

pytestmark = pytest.mark.crash


def crash_seed() -> int:
    """``YUNYING_CRASH_SEED`` when set, else a new random seed (printed, and in every message)."""
    seed = int(os.environ.get("YUNYING_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash test seed: {seed}")
    return seed


def stored_uuids(db: Path) -> tuple[list[str], dict[str, int]]:
    """Every stored uuid (one per row) and the uuids stored more than once, with their count."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        uuids = [row[0] for row in con.execute("SELECT uuid FROM events").fetchall()]
        repeated = dict(con.execute(
            "SELECT uuid, count(*) FROM events GROUP BY uuid HAVING count(*) > 1 LIMIT 20").fetchall())
    finally:
        con.close()
    return uuids, repeated


def check_exactly_once(run: CrashRun) -> None:
    """Every acknowledged uuid stored once, none stored twice, nothing stored that was not sent."""
    led, about = run.ledger, run.describe()
    assert not led.failures, f"{about}\nsenders failed: {led.failures[:5]}"
    assert len(run.killed_at) == run.kills and run.server.starts == run.kills + 1, about
    assert led.acknowledged_requests > 10 * run.n_senders, f"{about}\ntoo few batches acknowledged"
    assert led.broken >= run.kills, f"{about}\nthe kills did not cut off requests in flight"
    uuids, repeated = stored_uuids(run.db)
    stored = set(uuids)
    assert not repeated, f"{about}\nuuids stored more than once: {repeated}"
    lost = led.acked - stored
    assert not lost, f"{about}\n{len(lost)} acknowledged uuids are not stored, e.g. {sorted(lost)[:5]}"
    unknown = stored - led.sent
    assert not unknown, f"{about}\n{len(unknown)} stored uuids were never sent, e.g. {sorted(unknown)[:5]}"
    assert len(uuids) == len(led.acked | (stored - led.acked)), about


def test_kill9_loses_no_acknowledged_event_and_stores_none_twice(tmp_path: Path) -> None:
    run = CrashRun(tmp_path, crash_seed())
    run.run()
    print(run.describe())
    check_exactly_once(run)


# ----------------------------------------------------------------------------- identity merges
USERS = 300  # per sender: user-<sender>-<k>, each with anonymous ids anon-<sender>-<k>-<j>
ANON_PER_USER = 4


def alias_batch(rng: random.Random, sender: int) -> list[dict[str, Any]]:
    """1–200 events: anonymous page views, page views of users, and ``$create_alias`` (anon → user).

    Each anonymous id is only ever aliased to its own user, so every link is one PostHog
    accepts: afterwards an acknowledged alias and its user must be the same person.
    """
    now = dt.datetime.now(dt.UTC)
    events = []
    for _ in range(rng.randint(1, 200)):
        k, j = rng.randrange(USERS), rng.randrange(ANON_PER_USER)
        user, anon = f"user-{sender}-{k}", f"anon-{sender}-{k}-{j}"
        kind = rng.random()
        if kind < 0.3:
            events.append(sdk_event(rng, user, random_uuid(rng), now, "$create_alias", {"alias": anon}))
        else:
            events.append(sdk_event(rng, anon if kind < 0.65 else user, random_uuid(rng), now, "$pageview"))
    return events


def test_kill9_during_identity_merges_keeps_one_person_per_distinct_id(tmp_path: Path) -> None:
    run = CrashRun(tmp_path, crash_seed(), alias_batch)
    run.run()
    print(run.describe())
    check_exactly_once(run)
    about = run.describe()
    con = duckdb.connect(str(run.db), read_only=True)
    try:
        twice = con.execute("SELECT distinct_id, count(*) FROM persons GROUP BY distinct_id "
                            "HAVING count(*) > 1 LIMIT 10").fetchall()
        person = dict(con.execute("SELECT distinct_id, person_id FROM persons").fetchall())
        mislabelled = con.execute(
            "SELECT e.distinct_id, e.person_id, p.person_id FROM events AS e "
            "JOIN persons AS p USING (project_id, distinct_id) WHERE e.person_id <> p.person_id "
            "LIMIT 10").fetchall()
        profiles_twice = con.execute("SELECT person_id, count(*) FROM person_profiles GROUP BY person_id "
                                     "HAVING count(*) > 1 LIMIT 10").fetchall()
        orphans = con.execute("SELECT person_id FROM person_profiles EXCEPT SELECT person_id FROM persons "
                              "LIMIT 10").fetchall()
    finally:
        con.close()
    assert not twice, f"{about}\ndistinct_ids with more than one person: {twice}"
    missing = run.ledger.acked_distinct_ids - person.keys()
    assert not missing, f"{about}\nacknowledged distinct_ids without a person: {sorted(missing)[:5]}"
    assert not mislabelled, f"{about}\nevents whose person_id is not their distinct_id's: {mislabelled}"
    split = [(a, u, person.get(a), person.get(u)) for a, u in sorted(run.ledger.acked_aliases)
             if person.get(a) != person.get(u)]
    assert not split, f"{about}\nacknowledged aliases whose ids are different persons: {split[:5]}"
    assert not profiles_twice, f"{about}\npersons with more than one profile row: {profiles_twice}"
    assert not orphans, f"{about}\nprofiles of persons that no longer exist: {orphans}"
